/// Why a `PatchsyncServer` could not start.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Hashable {
        /// The configuration holds a value the server cannot use.
        case invalidConfiguration
        /// The service thread could not be created.
        case threadCreationFailed
        /// libwebsockets could not create its context or listen socket.
        case listenFailed
        /// `start()` was called on a server that already ran.
        case alreadyStarted
    }

    public let kind: Kind
    public let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "server error (\(kind)): \(message)" }
}
