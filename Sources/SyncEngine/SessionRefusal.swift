/// Why the engine would not open a session now, with the code a transport reports
/// (`too_many_documents` as HTTP 503 on the WebSocket upgrade).
public struct SessionRefusal: Error, CustomStringConvertible, Hashable, Sendable {
    public let code: SyncErrorCode
    public let message: String

    public init(_ code: SyncErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
