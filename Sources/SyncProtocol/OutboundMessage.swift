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
    package convenience init(_ head: [UInt8], _ tail: [UInt8]) {
        self.init(count: head.count + tail.count) { payload in
            head.withUnsafeBytes { payload.copyMemory(from: $0) }
            let rest = UnsafeMutableRawBufferPointer(rebasing: payload[head.count...])
            tail.withUnsafeBytes { rest.copyMemory(from: $0) }
        }
    }

    /// The first `prefixCount` payload bytes of `message` followed by `tail`: a variant of an
    /// encoded message at the cost of a copy rather than another encode.
    package convenience init(prefix prefixCount: Int, of message: OutboundMessage, followedBy tail: [UInt8]) {
        precondition(prefixCount <= message.count, "prefix longer than the message")
        self.init(count: prefixCount + tail.count) { payload in
            let prefix = message.storage[Self.headroom..<(Self.headroom + prefixCount)]
            payload.copyMemory(from: UnsafeRawBufferPointer(rebasing: prefix))
            let rest = UnsafeMutableRawBufferPointer(rebasing: payload[prefixCount...])
            tail.withUnsafeBytes { rest.copyMemory(from: $0) }
        }
    }

    /// `initializePayload` must initialize all `count` bytes it is given.
    package init(count: Int, kind: Kind = .other, initializePayload: (UnsafeMutableRawBufferPointer) -> Void) {
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
