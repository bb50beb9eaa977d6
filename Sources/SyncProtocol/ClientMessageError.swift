import JSONPatch

/// Why a client message was refused: the `code` and `message` of the Error the server answers
/// with, and the `id` to echo when one could be read. The message names the member that is wrong.
public struct ClientMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    public let id: JSONValue?
    public let code: SyncErrorCode
    public let message: String

    public init(id: JSONValue?, code: SyncErrorCode, message: String) {
        self.id = id
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
