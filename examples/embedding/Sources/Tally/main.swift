// A shared tally, kept in sync by patchsync's libraries: the model, the engine, the HTTP API, the
// server. `swift run Tally [PORT]`, then e.g. `patchsync send ws://127.0.0.1:3340/ws '{"type":"Add","amount":2}'`.
import Dispatch
import FileStore
import Glibc
import Logging
import SyncAPI
import SyncEngine
import SyncServer

/// The document: a count and who moved it last. Actions: `{"type":"Add","amount":2,"name":"Ana"}`
/// and `{"type":"Reset"}`.
enum Tally: DocumentModel {
    struct State: Codable, Sendable {
        var count = 0
        var by = ""
    }

    struct Action: Codable, Sendable {
        var type: String
        var amount: Int?
        var name: String?
    }

    static var initialState: State { State() }
    static var stateKey: String { "tally" }
    static var schemaVersion: Int { 1 }

    /// Refuses before changing anything: the engine reduces in place, with no copy to fall back on.
    static func reduce(_ state: inout State, _ action: Action) throws(ActionRejected) {
        switch action.type {
        case "Add":
            guard let amount = action.amount, (-100...100).contains(amount) else {
                throw ActionRejected(.invalidAction, "amount: expected an integer from -100 to 100")
            }
            state.count += amount
            state.by = action.name ?? ""
        case "Reset":
            state = State()
        default:
            throw ActionRejected(.unknownType, "unknown action type '\(action.type)'")
        }
    }
}

let logger = Logger(label: "tally")
let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 3340
let store = FileDocumentStore(configuration: .init(dataDirectory: "./tally-data"), logger: logger)
let engine = try await SyncEngine<Tally>(configuration: .init(store: store), logger: logger)
let counters = ConnectionCounters()
let server = PatchsyncServer(
    configuration: ServerConfiguration(listener: .tcp(host: "127.0.0.1", port: port)),
    engine: engine, httpHandler: DocumentAPI(engine: engine, transport: counters, logger: logger),
    counters: counters, logger: logger)
// Straight to the descriptor, unbuffered: a script waits for this line.
var line = "listening on \(try await server.start())\n"
line.withUTF8 { bytes in _ = write(1, bytes.baseAddress, bytes.count) }

// Ctrl-C stops cleanly: sessions are closed with 1001 and the log is flushed. (The handler is
// @Sendable: it runs on a Dispatch queue, not on the main actor this top-level code runs on.)
let (interrupts, interrupted) = AsyncStream.makeStream(of: Void.self)
signal(SIGINT, SIG_IGN)
let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
interrupt.setEventHandler { @Sendable in interrupted.yield() }
interrupt.resume()
for await _ in interrupts { break }
await server.stop()
await engine.shutdown()
