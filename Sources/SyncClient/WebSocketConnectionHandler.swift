/// Identifies one connection of a `WebSocketClientLoop`.
public struct WebSocketConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public var description: String { "connection-\(rawValue)" }
}

/// How to open one WebSocket connection.
public struct WebSocketConnectionOptions: Sendable {
    /// The subprotocol to request (`Sec-WebSocket-Protocol`); nil requests none.
    public var subprotocol: String?
    /// Sent as `Authorization: Bearer <token>` in the opening handshake when set.
    public var bearerToken: String?
    /// Incoming messages larger than this close the connection with status 1009.
    public var maximumMessageSize: Int

    public init(subprotocol: String? = nil, bearerToken: String? = nil, maximumMessageSize: Int = 1 << 20) {
        self.subprotocol = subprotocol
        self.bearerToken = bearerToken
        self.maximumMessageSize = maximumMessageSize
    }
}

/// Receives the events of one connection. Every method runs on the loop's service thread and
/// must return quickly: it holds up every other connection of the loop.
public protocol WebSocketConnectionHandler: AnyObject, Sendable {
    /// The opening handshake completed; messages may be sent.
    func connectionDidOpen(_ connection: WebSocketConnection)
    /// One whole message, reassembled from its fragments. The bytes are valid only during the call.
    func connection(_ connection: WebSocketConnection, didReceive message: UnsafeRawBufferPointer, isBinary: Bool)
    /// The connection is over: it failed to open, the peer closed it, or it was closed locally.
    /// Called exactly once per connection, last.
    func connection(_ connection: WebSocketConnection, didCloseWith error: SyncClientError)
}
