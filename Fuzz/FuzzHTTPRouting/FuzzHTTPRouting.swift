import FileStore
import FuzzSupport
import JSONCodec
import JSONPatch
import Logging
import SyncAPI
import SyncEngine
@testable import SyncServer
import TodoModel

/// Discards what the engine sends to the one session that seeds the document.
struct DiscardingOutput: TransportSession {
    func send(_ message: OutboundMessage) {}
    func close(_ code: CloseCode, reason: String) {}
}

/// One engine, in memory, for every input: `default` has three versions to read and revert to.
let api: DocumentAPI<TodoList> = {
    let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
    let store = FileDocumentStore(configuration: .init(dataDirectory: "/fuzz", storage: MemoryStorage()), logger: logger)
    let engine = waitFor { try! await SyncEngine<TodoList>(configuration: .init(store: store), logger: logger) }
    let session = engine.connect(document: .default, since: nil, role: .editor, output: DiscardingOutput())
    for action in [#"{"type":"ChangeName","name":"list"}"#, #"{"type":"Add","row":{"name":"a","completed":true}}"#,
        #"{"type":"Add","row":{"name":"b","completed":false}}"#]
    {
        engine.receive(.text(Array(action.utf8)), from: session)
    }
    expect(waitFor { (try? await engine.state(of: .default))?.version } == 3, "the seed actions were not applied")
    return DocumentAPI(engine: engine, logger: logger)
}()

/// A request with a method, path, query and body built from the input, as the server hands
/// them over (URL-decoded): the API never crashes and answers with a status it documents and
/// a JSON body (an error object unless 200); the WebSocket route reads the same path into a
/// document name or a failure, and `since` into a version or a failure.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let method = input.element(of: ["GET", "POST", "PUT", "HEAD", "get", input.text(maximumLength: 8)])
    let segments = ["api", "docs", "default", "other", "history", "revert", "metrics", "ws", "", "..", input.key()]
    var path = (0..<input.choice(below: 6)).map { _ in input.element(of: segments) }.joined(separator: "/")
    if input.choice(below: 8) != 0 { path = "/" + path }
    let names = ["since", "limit", "token", input.key()]
    let values = ["0", "2", "3", "4", "10001", "18446744073709551615", "18446744073709551616", "-1", "", "1e3", input.key()]
    let query = (0..<input.choice(below: 4)).map { _ in
        HTTPRequest.QueryItem(name: input.element(of: names), value: input.element(of: values))
    }
    let request = HTTPRequest(method: HTTPMethod(rawValue: method), path: path, query: query, body: input.remainingBytes())

    let response = waitFor { await api.handle(request) }
    expect([200, 400, 404, 405].contains(response.status), "\(method) \(path) \(query): status \(response.status)")
    if path == "/metrics" && response.status == 200 { return 0 }
    expect(response.contentType == HTTPResponse.jsonContentType, "\(method) \(path): not JSON")
    let body = try? JSONCodec.decode(response.body)
    if response.status != 200 {
        expect(
            body?["error"]?["code"]?.stringValue != nil && body?["error"]?["message"]?.stringValue != nil,
            "\(method) \(path): an error without code and message")
    } else {
        expect(body?.objectValue != nil, "\(method) \(path): 200 without a JSON object")
    }

    switch WebSocketRoute.document(forPath: path) {
    case .success(let name):
        // One trailing slash is allowed after a name: `/ws/<name>/`. `/ws/` is refused: lws
        // resolves `/ws/.` and `/ws/%00` to it.
        expect(
            path == "/ws/\(name)" || path == "/ws/\(name)/" || (name == .default && path == "/ws"),
            "\(path) routed to \(name)")
    case .failure:
        expect(path != "/ws", "/ws refused")
    }
    // Any text is a version or a failure (`+2` is read as 2, as `UInt64("+2")` does; harmless).
    _ = WebSocketRoute.since(request.queryValue("since"))
    return 0
}
