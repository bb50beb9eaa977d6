/// Answers the HTTP requests the server does not serve itself (`/api/...`, `/metrics`).
///
/// The server calls `handle` from a task, never from its service thread, so a handler may
/// await the engine. It must always return a response: errors become error responses.
public protocol HTTPHandler: Sendable {
    func handle(_ request: HTTPRequest) async -> HTTPResponse
}
