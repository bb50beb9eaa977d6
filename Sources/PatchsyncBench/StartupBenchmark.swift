import Glibc
import FileStore
import Logging
import SyncEngine
import Synchronization
import TodoModel

/// `PatchsyncBench startup`: how long a restart takes to restore a document with many events.
///
/// Builds a data directory through the engine's public API (one editor session sending Todo
/// actions, each a change), then times `SyncEngine` init on it several times. Twice: once with
/// the default compaction policy (a snapshot plus the newest events), and once with
/// `snapshotInterval` above the event count, so that every event is replayed from the log,
/// the worst case. The page cache is warm: this times decoding and replay, not the disk.
enum StartupBenchmark {
    struct Options {
        var events = 100_000
        /// Row indexes the actions cycle through: the size the list reaches.
        var rows = 1000
        var restarts = 5

        static let usage = "usage: PatchsyncBench startup [--events 100000] [--rows 1000] [--restarts 5]"

        init(arguments: ArraySlice<String>) throws(BenchmarkError) {
            var rest = arguments
            while let argument = rest.popFirst() {
                guard let text = rest.popFirst() else { throw BenchmarkError("\(argument) needs a value\n\(Self.usage)") }
                guard let number = Int(text), number > 0 else {
                    throw BenchmarkError("\(argument) must be a positive integer, not '\(text)'")
                }
                switch argument {
                case "--events": events = number
                case "--rows": rows = number
                case "--restarts": restarts = number
                default: throw BenchmarkError("unknown argument '\(argument)'\n\(Self.usage)")
                }
            }
        }
    }

    /// One on-disk layout to restart from.
    struct Layout {
        var title: String
        var retainedEvents: Int
        var snapshotInterval: Int
    }

    static func main(arguments: ArraySlice<String>) async -> Int32 {
        let options: Options
        do {
            options = try Options(arguments: arguments)
        } catch {
            print("PatchsyncBench startup: \(error)")
            return 2
        }
        let logger = benchmarkLogger("startup")
        let defaults = FileStoreConfiguration(dataDirectory: "")
        let layouts = [
            Layout(
                title: "snapshot + log (default policy)", retainedEvents: defaults.retainedEvents,
                snapshotInterval: defaults.snapshotInterval),
            Layout(
                title: "log only (every event replayed)", retainedEvents: options.events,
                snapshotInterval: options.events + 1),
        ]
        print("Start-up: SyncEngine<TodoList> init restoring one document of \(options.events) events "
            + "(Todo list of \(options.rows) rows); \(options.restarts) restarts each, milliseconds")
        print(padded("layout", 34) + padded("log lines", 11) + padded("log KiB", 9) + padded("snapshot KiB", 14)
            + padded("median ms", 11) + padded("min ms", 9) + padded("max ms", 9))
        var failed = false
        for layout in layouts {
            do {
                let row = try await measure(layout, options: options, logger: logger)
                print(padded(layout.title, 34) + row)
            } catch {
                print(padded(layout.title, 34) + "failed: \(error)")
                failed = true
            }
        }
        print("target: a document with 100,000 events starts in well under a second")
        return failed ? 1 : 0
    }

    private static func measure(_ layout: Layout, options: Options, logger: Logger) async throws -> String {
        let temporary = try TemporaryDataDirectory(prefix: "patchsync-bench")
        defer { temporary.remove() }
        let directory = temporary.path
        let configuration = FileStoreConfiguration(
            dataDirectory: directory, retainedEvents: layout.retainedEvents, snapshotInterval: layout.snapshotInterval)
        try await fill(configuration, options: options, logger: logger)

        var samples: [Double] = []
        for _ in 0..<options.restarts {
            let start = monotonicSeconds()
            let engine = try await makeEngine(configuration, logger: logger)
            samples.append((monotonicSeconds() - start) * 1000)
            let restored = try await engine.state(of: .default).version
            await engine.shutdown()
            guard restored == UInt64(options.events) else {
                throw BenchmarkError("restored version \(restored), expected \(options.events)")
            }
        }
        samples.sort()
        let document = directory + "/" + DocumentName.default.rawValue
        let log = try PosixStorageIO().readFile(document + "/log.jsonl") ?? []
        let snapshot = try PosixStorageIO().readFile(document + "/snapshot.json") ?? []
        let lines = log.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        return padded("\(lines)", 11) + padded("\(log.count / 1024)", 9) + padded("\(snapshot.count / 1024)", 14)
            + padded(formatted(samples[samples.count / 2]), 11) + padded(formatted(samples[0]), 9) + padded(formatted(samples[samples.count - 1]), 9)
    }

    /// An engine on a file store of its own (a store is not used again after its engine shuts down).
    private static func makeEngine(_ files: FileStoreConfiguration, logger: Logger) async throws -> SyncEngine<TodoList> {
        let store = FileDocumentStore(configuration: files, logger: logger)
        return try await SyncEngine<TodoList>(
            configuration: .init(store: store, retainedEvents: files.retainedEvents), logger: logger)
    }

    /// Sends `options.events` actions from one editor session and waits until they are all on disk.
    private static func fill(
        _ configuration: FileStoreConfiguration, options: Options, logger: Logger
    ) async throws {
        let engine = try await makeEngine(configuration, logger: logger)
        let output = RefusalWatch()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        for number in 0..<options.events {
            engine.receive(.text(action(number, rows: options.rows)), from: session)
        }
        // Work of one document is done in arrival order: once this read answers, every action is applied.
        let version = try await engine.state(of: .default).version
        engine.disconnect(session)
        await engine.shutdown()
        if let refusal = output.firstRefusal.withLock({ $0 }) {
            throw BenchmarkError("the engine refused an action: \(refusal)")
        }
        guard version == UInt64(options.events) else {
            throw BenchmarkError("the document reached version \(version), expected \(options.events)")
        }
    }

    /// Every action changes the list: nine row updates (a new name each time), then a new list name.
    static func action(_ number: Int, rows: Int) -> [UInt8] {
        let text =
            number % 10 == 9
            ? #"{"type":"ChangeName","name":"list \#(number)"}"#
            : #"{"type":"Update","index":\#(number % rows + 1),"row":{"name":"item \#(number)","completed":\#(number % 2 == 0)}}"#
        return Array(text.utf8)
    }

    
}

/// Drops the Patches and Acks of the filling session, keeping the first Error if any.
private final class RefusalWatch: TransportSession {
    let firstRefusal = Mutex<String?>(nil)

    func send(_ message: OutboundMessage) {
        let bytes = message.bytes
        guard bytes.count < 1024 else { return }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.contains("\"Error\"") else { return }
        firstRefusal.withLock { if $0 == nil { $0 = text } }
    }

    func close(_ code: CloseCode, reason: String) {
        firstRefusal.withLock { if $0 == nil { $0 = "session closed with \(code.rawValue): \(reason)" } }
    }
}
