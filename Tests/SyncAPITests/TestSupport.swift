import FileStore
import Foundation
import JSONCodec
import JSONPatch
import Logging
import Synchronization
import SyncAPI
import SyncEngine
import TodoModel

/// Records what a session receives, decoded.
final class RecordingOutput: TransportSession {
    private let received = Mutex<[JSONValue]>([])

    func send(_ message: OutboundMessage) {
        let value = (try? JSONCodec.decode(message.bytes)) ?? .string("<undecodable>")
        received.withLock { $0.append(value) }
    }

    func close(_ code: CloseCode, reason: String) {}

    var messages: [JSONValue] { received.withLock { $0 } }
}

/// A real engine on a fresh temporary data directory, with one editor session on each document used.
final class APIFixture {
    let directory: String
    let engine: SyncEngine<TodoList>
    let api: DocumentAPI<TodoList>
    private(set) var sessions: [DocumentName: (id: SessionID, output: RecordingOutput)] = [:]

    init(transport: (any TransportMetricsSource)? = nil, retainedEvents: Int = 1000, snapshotInterval: Int = 1000) async throws {
        directory = NSTemporaryDirectory() + "patchsync-api-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let store = FileDocumentStore(
            configuration: .init(
                dataDirectory: directory, retainedEvents: retainedEvents, snapshotInterval: snapshotInterval),
            logger: logger)
        engine = try await SyncEngine<TodoList>(
            configuration: .init(store: store, retainedEvents: retainedEvents), logger: logger)
        api = DocumentAPI(engine: engine, transport: transport, logger: logger)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func output(of document: DocumentName) -> RecordingOutput {
        session(document).output
    }

    private func session(_ document: DocumentName) -> (id: SessionID, output: RecordingOutput) {
        if let existing = sessions[document] { return existing }
        let output = RecordingOutput()
        let id = engine.connect(document: document, since: nil, role: .editor, output: output)
        sessions[document] = (id, output)
        return (id, output)
    }

    /// Sends an action and waits until the document has handled it (a read queues behind it).
    func act(_ action: String, on document: DocumentName = .default) async throws {
        let session = session(document)
        engine.receive(.text(Array(action.utf8)), from: session.id)
        _ = try await engine.state(of: document)
    }

    func request(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: String = "")
        async -> HTTPResponse
    {
        await api.handle(
            HTTPRequest(
                method: method, path: path, query: query.map { HTTPRequest.QueryItem(name: $0.0, value: $0.1) },
                body: Array(body.utf8)))
    }

    /// The request's JSON body, which every API answer has.
    func json(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: String = "")
        async throws -> (status: Int, value: JSONValue)
    {
        let response = await request(method, path, query: query, body: body)
        return (response.status, try JSONCodec.decode(response.body))
    }

    func shutdown() async {
        for (_, session) in sessions { engine.disconnect(session.id) }
        await engine.shutdown()
    }
}

struct FixedTransport: TransportMetricsSource {
    let metrics: TransportMetrics
    func transportMetrics() -> TransportMetrics { metrics }
}

extension JSONValue {
    subscript(index: Int) -> JSONValue? {
        guard let array = arrayValue, array.indices.contains(index) else { return nil }
        return array[index]
    }

    /// The `code` of an API error body.
    var errorCode: String? { self["error"]?["code"]?.stringValue }
}
