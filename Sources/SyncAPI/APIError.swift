import JSONCodec
import JSONPatch
import SyncEngine

/// A refused API request: the status and the `{"error":{"code":..,"message":..}}` body.
public struct APIError: Error, Sendable, Hashable, CustomStringConvertible {
    public let status: Int
    /// Stable and machine-readable, e.g. `invalid_name`, `not_found`, `storage_unavailable`.
    public let code: String
    public let message: String

    public init(status: Int, code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status) \(code): \(message)" }

    public var response: HTTPResponse {
        let body: JSONValue = ["error": ["code": .string(code), "message": .string(message)]]
        // Two strings always encode; the fallback only satisfies the type checker.
        let bytes = (try? JSONCodec.encode(body)) ?? Array("{\"error\":{\"code\":\"internal_error\"}}".utf8)
        return HTTPResponse(status: status, contentType: HTTPResponse.jsonContentType, body: bytes)
    }

    /// The status that fits each engine failure.
    init(_ error: SyncEngineError) {
        switch error.kind {
        case .documentNotFound: self.init(status: 404, code: "document_not_found", error.message)
        case .versionNotAvailable: self.init(status: 404, code: "version_not_available", error.message)
        case .storageUnavailable: self.init(status: 503, code: "storage_unavailable", error.message)
        case .tooManyDocuments: self.init(status: 503, code: "too_many_documents", error.message)
        case .corruptData: self.init(status: 500, code: "corrupt_data", error.message)
        case .invalidState: self.init(status: 500, code: "invalid_state", error.message)
        case .modelMismatch: self.init(status: 409, code: "model_mismatch", error.message)
        }
    }

    static func notFound(_ path: String) -> APIError {
        APIError(status: 404, code: "not_found", "nothing at \(path)")
    }

    static func methodNotAllowed(_ method: HTTPMethod, _ path: String, allowed: HTTPMethod) -> APIError {
        APIError(status: 405, code: "method_not_allowed", "\(method) is not allowed on \(path); use \(allowed)")
    }

    static func invalidName(_ name: String) -> APIError {
        APIError(
            status: 400, code: "invalid_name",
            "invalid document name '\(name)': use 1 to 64 letters, digits, - or _")
    }

    static func forbidden(_ message: String) -> APIError {
        APIError(status: 403, code: "forbidden", message)
    }

    static func invalidQuery(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_query", message)
    }

    static func invalidBody(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_body", message)
    }
}
