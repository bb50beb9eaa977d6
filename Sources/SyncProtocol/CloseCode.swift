/// WebSocket close status codes the engine and transport use (RFC 6455 section 7.4).
public struct CloseCode: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let normal = CloseCode(rawValue: 1000)
    /// The server shuts down.
    public static let goingAway = CloseCode(rawValue: 1001)
    /// Invalid UTF-8 in a text frame (sent by the transport, as RFC 6455 asks).
    public static let invalidPayload = CloseCode(rawValue: 1007)
    /// A limit was hit too often, or the session's token expired.
    public static let policyViolation = CloseCode(rawValue: 1008)
    public static let messageTooBig = CloseCode(rawValue: 1009)
    /// The session reads too slowly to keep up.
    public static let tryAgainLater = CloseCode(rawValue: 1013)
}
