/// The contract between a transport (the libwebsockets bridge, or a test) and the engine.
///
/// The transport owns sockets and threads; the engine owns documents. Every
/// method here may be called from any thread and never blocks: the engine
/// queues work for the document's actor and answers through `TransportSession`.
public protocol SessionEngine: Sendable {
    /// Opens a session on a document. The engine sends the first message
    /// (a Full, or the patches after `since` when it can resume) through `output`.
    ///
    /// `client` names the client for exactly-once actions (`?client=ID`); nil when it gave none.
    /// `author` (a signed token's `sub`) is recorded with every change the session makes; nil for
    /// static tokens and servers without credentials.
    func connect(
        document: DocumentName, since: UInt64?, role: SessionRole, client: ClientID?, author: String?,
        output: any TransportSession
    ) -> SessionID

    /// One complete message from a session. Messages of one session are handled in arrival order.
    func receive(_ message: IncomingMessage, from session: SessionID)

    /// A message the transport refuses without handing it to the model (over the message rate).
    /// The engine answers with an Error carrying the message's `id`, in order with the session's
    /// other replies, then closes the session if the refusal says so.
    func refuse(_ message: IncomingMessage, from session: SessionID, _ refusal: MessageRefusal)

    /// The session is gone; nothing more is sent to its output.
    func disconnect(_ session: SessionID)

    /// Why `connect` would refuse a session on `document` now (for example
    /// `too_many_documents`), so that the transport can refuse the connection itself.
    func refusal(forConnectingTo document: DocumentName) -> SessionRefusal?

    /// Why a resume after `since` cannot be right for `document` (it is ahead of a document that
    /// has no version yet), so that the transport refuses it as a bad request (HTTP 400).
    func resumeRefusal(forResuming document: DocumentName, since: UInt64) -> String?

    /// Why changes cannot be saved right now (a database out of reach), or nil when they can:
    /// `/healthz` answers 503 with it.
    var unavailableReason: String? { get }
}

extension SessionEngine {
    /// A service that never refuses a session up front.
    public func refusal(forConnectingTo document: DocumentName) -> SessionRefusal? { nil }

    /// A service that resumes from any version, or sends a Full.
    public func resumeRefusal(forResuming document: DocumentName, since: UInt64) -> String? { nil }

    /// An engine whose changes can always be saved.
    public var unavailableReason: String? { nil }
}

extension SessionEngine {
    /// Opens a session whose changes have no author.
    public func connect(
        document: DocumentName, since: UInt64?, role: SessionRole, client: ClientID?, output: any TransportSession
    ) -> SessionID {
        connect(document: document, since: since, role: role, client: client, author: nil, output: output)
    }

    /// Opens a session for a client that gave no client ID.
    public func connect(
        document: DocumentName, since: UInt64?, role: SessionRole, output: any TransportSession
    ) -> SessionID {
        connect(document: document, since: since, role: role, client: nil, output: output)
    }
}

/// Where the engine puts messages for one connection. Implemented by the transport.
/// Called from any thread; must return at once.
public protocol TransportSession: Sendable {
    func send(_ message: OutboundMessage)
    func close(_ code: CloseCode, reason: String)
    /// Brackets the engine's `send` calls of one batch's replies and broadcasts, to this session
    /// and others of the same transport (always paired with `endBroadcast`), so that a transport
    /// that wakes a thread for what is sent wakes it once, after them.
    func beginBroadcast()
    func endBroadcast()
}

extension TransportSession {
    /// A transport with no thread to wake needs no bracket.
    public func beginBroadcast() {}
    public func endBroadcast() {}
}

/// Why the transport refused a message, and whether the session closes after the Error.
public struct MessageRefusal: Sendable {
    public let code: SyncErrorCode
    public let message: String
    public let close: (code: CloseCode, reason: String)?

    public init(code: SyncErrorCode, message: String, close: (code: CloseCode, reason: String)? = nil) {
        self.code = code
        self.message = message
        self.close = close
    }
}

/// A whole message as reassembled by the transport.
public enum IncomingMessage: Sendable, Equatable {
    case text([UInt8])
    case binary(byteCount: Int)
}

/// Identifies one connection for the lifetime of the process.
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public var description: String { "session-\(rawValue)" }
}

/// A document's name: letters, digits, `-` and `_`, 1 to 64 characters.
public struct DocumentName: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public static let `default` = DocumentName(validated: "default")

    public init?(_ string: String) {
        guard isIdentifier(string) else { return nil }
        rawValue = string
    }

    private init(validated: String) {
        rawValue = validated
    }

    public var description: String { rawValue }
}
