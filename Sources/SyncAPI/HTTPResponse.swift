import JSONCodec
import JSONPatch

/// What an `HTTPHandler` answers: the server writes it with a `Content-Length`.
public struct HTTPResponse: Sendable, Hashable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static let jsonContentType = "application/json"

    /// A JSON body. A value that cannot be encoded (a non-finite number) becomes a 500 error.
    public static func json(_ value: JSONValue, status: Int = 200) -> HTTPResponse {
        do {
            return HTTPResponse(status: status, contentType: jsonContentType, body: try JSONCodec.encode(value))
        } catch {
            return APIError(status: 500, code: "internal_error", "cannot encode the response: \(error)").response
        }
    }
}
