/// Why an `HTTPClient` request got no response, and where.
public struct HTTPClientError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The URL could not be parsed or uses an unsupported scheme.
        case invalidURL
        /// A header name or value would break the request (line breaks), or the method is empty.
        case invalidRequest
        /// The file of trusted certificate authorities cannot be read.
        case unusableCAFile
        /// The host name did not resolve.
        case hostNotFound
        /// No connection could be made (refused, unreachable, timed out).
        case connectionFailed
        /// Sending or receiving failed, or timed out, after connecting.
        case transferFailed
        /// The server's answer is not a valid HTTP/1.1 response, or is too large.
        case invalidResponse
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
