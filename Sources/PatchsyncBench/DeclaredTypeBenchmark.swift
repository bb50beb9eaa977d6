import JSONCodec
import JSONPatch
import JSONSchema
import FileStore
import Logging
import SyncEngine
import TodoModel

/// `PatchsyncBench types`: the server's cost per action on a declared type's document (a raw
/// Patch changing one machine's counter: parse, apply, validate, diff, log, broadcast) beside
/// the Todo list's (an `Update` of one row, and the same change as a raw Patch), on 100 and
/// 10,000 entries. One action awaited at a time, without fsync (CPU cost; the fsync is the
/// same for both). The declared type is timed with the incremental validation the server
/// uses and with a whole validation per write.
enum DeclaredTypeBenchmark {
    static let entryCounts = [100, 10_000]

    private enum Case: CaseIterable {
        case todoUpdate, todoPatch, declaredIncremental, declaredFull

        var title: String {
            switch self {
            case .todoUpdate: "Todo Update µs"
            case .todoPatch: "Todo Patch µs"
            case .declaredIncremental: "type Patch µs"
            case .declaredFull: "type, full validation µs"
            }
        }
    }

    static func main(arguments: ArraySlice<String>) async -> Int32 {
        guard arguments.isEmpty else {
            print("usage: PatchsyncBench types")
            return 2
        }
        let logger = benchmarkLogger("types")
        print("One action awaited at a time, each changing one entry, without fsync; median µs per action")
        print(padded("entries", 9) + Case.allCases.map { padded($0.title, $0 == .declaredFull ? 26 : 16) }.joined())
        for entries in entryCounts {
            var line = padded("\(entries)", 9)
            for kind in Case.allCases {
                do {
                    line += padded(formatted(try await measure(kind, entries: entries, logger: logger)), kind == .declaredFull ? 26 : 16)
                } catch {
                    print(line + "failed: \(error)")
                    return 1
                }
            }
            print(line)
        }
        return 0
    }

    private static func measure(_ kind: Case, entries: Int, logger: Logger) async throws -> Double {
        let temporary = try TemporaryDataDirectory(prefix: "patchsync-bench-types")
        defer { temporary.remove() }
        let storage = UnsynchronizedStorage()
        let isDeclared = kind == .declaredIncremental || kind == .declaredFull
        let name = DocumentName(isDeclared ? "line-1" : "default")!
        var snapshot: JSONObject = ["format": 2, "schema": 1, "version": 1]
        let compiled = try JSONSchema(compiling: ValidationBenchmark.schema)
        var types = DeclaredTypes.none
        if isDeclared {
            snapshot["model"] = "line"
            snapshot["state"] = ValidationBenchmark.machines(entries)
            let validator: any StateValidator =
                kind == .declaredFull ? FullValidation(schema: compiled) : IncrementalValidation(schema: compiled)
            types = try DeclaredTypes([
                DeclaredType(
                    name: "line", patterns: [DocumentNamePattern("line-*")], version: 1,
                    initialState: ["line": "x", "machines": [:]], migrations: [], validator: validator,
                    file: "line.json")
            ])
        } else {
            var todos = JSONObject()
            for index in 1...entries { todos["\(index)"] = ["name": .string("todo number \(index)"), "completed": false] }
            snapshot["state"] = ["name": "Benchmark", "todos": .object(todos)]
        }
        try storage.createDirectory(temporary.path + "/" + name.rawValue)
        try storage.replaceFile(temporary.path + "/\(name)/snapshot.json", with: JSONCodec.encode(.object(snapshot)))
        let store = FileDocumentStore(
            configuration: .init(dataDirectory: temporary.path, snapshotInterval: 1_000_000, storage: storage), logger: logger)
        let engine = try await SyncEngine<TodoList>(configuration: .init(store: store, types: types), logger: logger)
        let session = engine.connect(document: name, since: nil, role: .editor, output: DiscardingOutput())
        var samples: [Double] = []
        let start = monotonicSeconds()
        var number = 0
        while samples.count < 20 || (monotonicSeconds() - start < 0.5 && samples.count < 2000) {
            let index = (number &* 7919) % entries + 1
            let text: String
            switch kind {
            case .todoUpdate:
                text = #"{"type":"Update","index":\#(index),"row":{"name":"item \#(number)","completed":false}}"#
            case .todoPatch:
                text = #"{"type":"Patch","ops":[{"op":"replace","path":"/todos/\#(index)/name","value":"item \#(number)"}]}"#
            case .declaredIncremental, .declaredFull:
                text = #"{"type":"Patch","ops":[{"op":"replace","path":"/machines/M\#(index)/count","value":\#(number + 100_000)}]}"#
            }
            let before = monotonicSeconds()
            engine.receive(.text(Array(text.utf8)), from: session)
            let version = try await engine.state(of: name).version
            // Untimed: the first actions after start-up (a whole validation, the JSON built in full).
            if number >= 3 { samples.append((monotonicSeconds() - before) * 1e6) }
            number += 1
            guard version == UInt64(number + 1) else {
                throw BenchmarkError("action \(number) left \(name) at version \(version)")
            }
        }
        engine.disconnect(session)
        await engine.shutdown()
        samples.sort()
        return samples[samples.count / 2]
    }

    private struct IncrementalValidation: StateValidator {
        let schema: JSONSchema
        func firstFailure(in state: JSONValue) -> String? { schema.firstFailure(in: state)?.description }
        func firstFailure(in state: JSONValue, changedBy change: JSONPatch) -> String? {
            schema.firstFailure(in: state, after: change.operations)?.description
        }
    }

    private struct FullValidation: StateValidator {
        let schema: JSONSchema
        func firstFailure(in state: JSONValue) -> String? { schema.firstFailure(in: state)?.description }
    }
}
