import SyncEngine

/// Which document a WebSocket upgrade asks for: `/ws` is `default`, `/ws/<name>` names one.
enum WebSocketRoute {
    enum Failure: Error, Equatable {
        case notAWebSocketPath
        case invalidDocumentName(String)
        case invalidSince(String)
        case invalidClient(String)
    }

    /// One trailing slash is allowed after a name, as on the API's paths: `/ws/<name>/`.
    ///
    /// `/ws/` is refused: lws resolves `/ws/.`, `/ws/%00`, `/ws//` and `/ws/x/..` to it before the
    /// server sees the path, and none of those names `default`.
    static func document(forPath path: String) -> Result<DocumentName, Failure> {
        if path == "/ws" { return .success(.default) }
        guard path.hasPrefix("/ws/") else { return .failure(.notAWebSocketPath) }
        var rest = path.dropFirst(4)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let name = String(rest)
        guard let document = DocumentName(name) else { return .failure(.invalidDocumentName(name)) }
        return .success(document)
    }

    /// `since=V` resumes after version V; absent means "send a Full".
    static func since(_ value: String?) -> Result<UInt64?, Failure> {
        guard let value else { return .success(nil) }
        guard let version = UInt64(decimalDigits: value) else { return .failure(.invalidSince(value)) }
        return .success(version)
    }

    /// `client=ID` names the client for exactly-once actions; absent means "anonymous".
    static func client(_ value: String?) -> Result<ClientID?, Failure> {
        guard let value else { return .success(nil) }
        guard let client = ClientID(value) else { return .failure(.invalidClient(value)) }
        return .success(client)
    }
}
