import Glibc
import JSONCodec
import JSONPatch
import FileStore
import Logging
import SyncEngine
import TodoModel

/// `PatchsyncBench engine`: the server's cost per action on a large Todo list where each action
/// changes one row: parse, reduce, build the new JSON, diff, log (with fsync) and broadcast.
///
/// The list is seeded as a snapshot file, so that start-up rather than thousands of actions
/// builds it. Each timed action is awaited before the next is sent (a read answers only once
/// the action is durable), so the figure is the latency of one action, not a batched rate.
/// Each size runs twice: with fsync, and through a `StorageIO` whose fsync does nothing, which
/// shows the CPU cost alone.
enum EngineBenchmark {
    static let rowCounts = [100, 10_000, 100_000]

    /// One kind of action to time.
    private enum Kind: CaseIterable {
        case update, add

        var title: String {
            switch self {
            case .update: "update µs"
            case .add: "add µs"
            }
        }
    }

    static func main(arguments: ArraySlice<String>) async -> Int32 {
        guard arguments.isEmpty else {
            print("usage: PatchsyncBench engine")
            return 2
        }
        let logger = benchmarkLogger("engine")
        print("SyncEngine<TodoList>: one action awaited at a time, each changing one row; median µs per action")
        print(padded("rows", 9) + padded("fsync", 7) + Kind.allCases.map { padded($0.title, 12) }.joined())
        var updateWithoutFsync: [Int: Double] = [:]
        for rows in rowCounts {
            for synchronized in [true, false] {
                var line = padded("\(rows)", 9) + padded(synchronized ? "yes" : "no", 7)
                do {
                    for kind in Kind.allCases {
                        let micros = try await measure(kind, rows: rows, synchronized: synchronized, logger: logger)
                        line += padded(formatted(micros), 12)
                        if kind == .update && !synchronized { updateWithoutFsync[rows] = micros }
                    }
                } catch {
                    print(line + "failed: \(error)")
                    return 1
                }
                print(line)
            }
        }
        if let small = updateWithoutFsync[100], let large = updateWithoutFsync[10_000] {
            print("update without fsync, 10,000 rows / 100 rows: \(formatted(large / small))x (target: close to 1x)")
        }
        return 0
    }

    /// The median latency of `kind` actions on a list of `rows` rows, in microseconds. Checks at
    /// the end that the engine's state is the JSON of the same actions applied locally.
    private static func measure(_ kind: Kind, rows: Int, synchronized: Bool, logger: Logger) async throws -> Double {
        let temporary = try TemporaryDataDirectory(prefix: "patchsync-bench")
        defer { temporary.remove() }
        let directory = temporary.path
        let storage: any StorageIO = synchronized ? PosixStorageIO() : UnsynchronizedStorage()
        var expected = TodoState(name: "Benchmark")
        for index in 1...rows {
            expected.todos[index] = TodoRow(name: "todo number \(index)", completed: index % 3 == 0)
        }
        let documentDirectory = directory + "/" + DocumentName.default.rawValue
        try storage.createDirectory(documentDirectory)
        try storage.replaceFile(
            documentDirectory + "/snapshot.json",
            with: JSONCodec.encode(["version": 1, "state": TodoList.jsonValue(of: expected)]))

        // No compaction while timing: it would rewrite the whole list within one sample.
        let store = FileDocumentStore(
            configuration: .init(dataDirectory: directory, snapshotInterval: 1_000_000, storage: storage), logger: logger)
        let engine = try await SyncEngine<TodoList>(configuration: .init(store: store), logger: logger)
        let session = engine.connect(document: .default, since: nil, role: .editor, output: DiscardingOutput())
        var samples: [Double] = []
        // Untimed: the first action after start-up builds the JSON in full.
        let warmUp = 3
        let start = monotonicSeconds()
        var number = 0
        while samples.count < 20 || (monotonicSeconds() - start < 0.5 && samples.count < 2000) {
            let (action, text) = Self.action(kind, number: number, state: expected)
            try TodoList.reduce(&expected, action)
            let before = monotonicSeconds()
            engine.receive(.text(text), from: session)
            // Work of one document is done in order: the read answers once the action is durable.
            let version = try await engine.state(of: .default).version
            if number >= warmUp { samples.append((monotonicSeconds() - before) * 1e6) }
            number += 1
            guard version == UInt64(number + 1) else {
                throw BenchmarkError("action \(number) left the document at version \(version)")
            }
        }
        let final = try await engine.state(of: .default).state
        engine.disconnect(session)
        await engine.shutdown()
        guard final == TodoList.jsonValue(of: expected) else {
            throw BenchmarkError("the engine's state differs from the actions applied locally")
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    /// An action that changes exactly one row: a new name for a row spread across the list,
    /// or a new row.
    private static func action(_ kind: Kind, number: Int, state: TodoState) -> (TodoAction, [UInt8]) {
        switch kind {
        case .update:
            let index = (number &* 7919) % state.todos.count + 1
            let row = TodoRow(name: "item \(number)", completed: number % 2 == 0)
            let text = #"{"type":"Update","index":\#(index),"row":"#
                + #"{"name":"\#(row.name)","completed":\#(row.completed)}}"#
            return (.update(index: TodoIndex(index), row: row), Array(text.utf8))
        case .add:
            let row = TodoRow(name: "new \(number)", completed: false)
            return (.add(row), Array(#"{"type":"Add","row":{"name":"\#(row.name)","completed":false}}"#.utf8))
        }
    }

    
}

/// The POSIX file system without fsync: what an action costs the CPU when the disk is free.
struct UnsynchronizedStorage: StorageIO {
    private let files = PosixStorageIO()

    func createDirectory(_ path: String) throws(StorageError) { try files.createDirectory(path) }
    func listDirectory(_ path: String) throws(StorageError) -> [String] { try files.listDirectory(path) }
    func readFile(_ path: String) throws(StorageError) -> [UInt8]? { try files.readFile(path) }
    func openForAppending(_ path: String) throws(StorageError) -> StorageFile { try files.openForAppending(path) }
    func size(of file: StorageFile) throws(StorageError) -> Int64 { try files.size(of: file) }
    func append(_ bytes: [UInt8], to file: StorageFile) throws(StorageError) { try files.append(bytes, to: file) }
    func synchronize(_ file: StorageFile) throws(StorageError) {}
    func truncate(_ file: StorageFile, toLength length: Int64) throws(StorageError) {
        try files.truncate(file, toLength: length)
    }
    func close(_ file: StorageFile) { files.close(file) }
    func replaceFile(_ path: String, with bytes: [UInt8]) throws(StorageError) {
        try files.replaceFile(path, with: bytes)
    }
    func rename(_ path: String, to newPath: String) throws(StorageError) { try files.rename(path, to: newPath) }
    func synchronizeDirectory(_ path: String) throws(StorageError) {}
}

/// The benchmark's only session ignores the Patches and Acks it is sent.
struct DiscardingOutput: TransportSession {
    func send(_ message: OutboundMessage) {}
    func close(_ code: CloseCode, reason: String) {}
}

