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

/// The bytes of one encoded server message, encoded once and shared by every session it goes to.
///
/// The payload sits behind `headroom` spare bytes, so a transport can put a frame header in front
/// of it without copying the payload per session (libwebsockets needs LWS_PRE = 16 bytes there).
/// The payload never changes after `init`; only the headroom is written, by one transport thread.
public final class OutboundMessage: @unchecked Sendable {
    public static let headroom = 16

    /// What a transport may do with a message waiting in a session's queue.
    public enum Kind: Sendable, Equatable {
        /// A Patch taking the document from version `from` to `version`, its ops array at
        /// `ops` in the payload: consecutive Patches can be sent as one (`ServerMessage.coalesce`).
        case patch(from: UInt64, version: UInt64, ops: Range<Int>)
        /// An Ack or Error for this session alone: it may wait behind later Patches coalesced
        /// with the one holding its change.
        case reply
        /// Anything else (Full, presence): keeps its place.
        case other
    }

    /// Payload bytes.
    public let count: Int
    public let kind: Kind
    private let storage: UnsafeMutableRawBufferPointer

    public convenience init(_ bytes: [UInt8], kind: Kind = .other) {
        self.init(count: bytes.count, kind: kind) { payload in
            bytes.withUnsafeBytes { payload.copyMemory(from: $0) }
        }
    }

    /// `head` followed by `tail`, copied once.
    convenience init(_ head: [UInt8], _ tail: [UInt8]) {
        self.init(count: head.count + tail.count) { payload in
            head.withUnsafeBytes { payload.copyMemory(from: $0) }
            let rest = UnsafeMutableRawBufferPointer(rebasing: payload[head.count...])
            tail.withUnsafeBytes { rest.copyMemory(from: $0) }
        }
    }

    /// The first `prefixCount` payload bytes of `message` followed by `tail`: a variant of an
    /// encoded message at the cost of a copy rather than another encode.
    convenience init(prefix prefixCount: Int, of message: OutboundMessage, followedBy tail: [UInt8]) {
        precondition(prefixCount <= message.count, "prefix longer than the message")
        self.init(count: prefixCount + tail.count) { payload in
            let prefix = message.storage[Self.headroom..<(Self.headroom + prefixCount)]
            payload.copyMemory(from: UnsafeRawBufferPointer(rebasing: prefix))
            let rest = UnsafeMutableRawBufferPointer(rebasing: payload[prefixCount...])
            tail.withUnsafeBytes { rest.copyMemory(from: $0) }
        }
    }

    /// `initializePayload` must initialize all `count` bytes it is given.
    init(count: Int, kind: Kind = .other, initializePayload: (UnsafeMutableRawBufferPointer) -> Void) {
        self.count = count
        self.kind = kind
        storage = .allocate(byteCount: Self.headroom + count, alignment: 16)
        UnsafeMutableRawBufferPointer(rebasing: storage[..<Self.headroom])
            .initializeMemory(as: UInt8.self, repeating: 0)
        initializePayload(UnsafeMutableRawBufferPointer(rebasing: storage[Self.headroom...]))
    }

    deinit {
        storage.deallocate()
    }

    /// A copy of the payload.
    public var bytes: [UInt8] {
        Array(payload)
    }

    /// The payload, valid for as long as the message is alive.
    public var payload: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[Self.headroom...])
    }

    /// The payload's first byte, with `headroom` writable bytes before it, and the payload's length.
    /// The memory stays valid for as long as the message is alive.
    public var framePayload: (start: UnsafeMutablePointer<UInt8>, count: Int) {
        ((storage.baseAddress! + Self.headroom).assumingMemoryBound(to: UInt8.self), count)
    }
}

/// Identifies one connection for the lifetime of the process.
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public var description: String { "session-\(rawValue)" }
}

/// What a session may do.
public enum SessionRole: Sendable {
    /// Receives state and may send actions.
    case editor
    /// Receives state; every action is refused with `forbidden`. A read-token session.
    case viewer

    /// The name the `Full` message gives the role: `"editor"` or `"viewer"`.
    public var protocolName: String {
        switch self {
        case .editor: "editor"
        case .viewer: "viewer"
        }
    }
}

/// WebSocket close status codes the engine and transport use (RFC 6455 section 7.4).
public struct CloseCode: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let normal = CloseCode(rawValue: 1000)
    public static let goingAway = CloseCode(rawValue: 1001)
    public static let policyViolation = CloseCode(rawValue: 1008)
    public static let messageTooBig = CloseCode(rawValue: 1009)
    public static let tryAgainLater = CloseCode(rawValue: 1013)
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
