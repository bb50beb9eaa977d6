import JSONPatch
/// What went wrong with a client connection, and where.
public enum SyncClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The URL could not be parsed or uses an unsupported scheme.
    case invalidURL(url: String, reason: String)
    /// The action given to `send` cannot be sent (not an object, or not encodable).
    case invalidAction(reason: String)
    /// libwebsockets could not create its client context.
    case contextCreationFailed
    /// The file of trusted certificate authorities (`caFilePath`) cannot be read.
    case unusableCAFile(path: String, reason: String)
    /// No WebSocket was established: connection refused, host not found, handshake rejected.
    case connectionFailed(url: String, reason: String)
    /// The WebSocket closed. `code` is the close status (nil when the connection was lost
    /// without a close frame).
    case closed(code: UInt16?, reason: String)
    /// An operation did not finish in time.
    case timedOut(operation: String, seconds: Double)
    /// The server sent something the protocol does not allow.
    case protocolViolation(String)
    /// The operation needs a connection that is not open (never connected, or closed).
    case notConnected

    public var description: String {
        switch self {
        case .invalidURL(let url, let reason):
            "invalid WebSocket URL '\(url)': \(reason)"
        case .invalidAction(let reason):
            "invalid action: \(reason)"
        case .contextCreationFailed:
            "libwebsockets could not create a client context"
        case .unusableCAFile(let path, let reason):
            "cannot use the CA file '\(path)': \(reason)"
        case .connectionFailed(let url, let reason):
            "cannot connect to \(url): \(reason)"
        case .closed(let code?, let reason):
            reason.isEmpty ? "connection closed with status \(code)" : "connection closed with status \(code): \(reason)"
        case .closed(nil, let reason):
            reason.isEmpty ? "connection lost" : "connection lost: \(reason)"
        case .timedOut(let operation, let seconds):
            "\(operation) timed out after \(numberText(seconds)) s"
        case .protocolViolation(let what):
            "protocol violation: \(what)"
        case .notConnected:
            "not connected"
        }
    }
}
