import CLibWebsockets
import LibWebsocketsSupport
import SyncEngine

/// A message too large for one write, going out as WebSocket fragments, one per turn
/// (`FragmentSchedule`).
struct FragmentedMessage {
    let message: OutboundMessage
    let fragmentBytes: Int
    /// Payload bytes written so far.
    private(set) var sent = 0
    /// With permessage-deflate lws compresses a fragment in place over several service rounds
    /// and calls WRITEABLE again only once it is done, so the fragment's copy must live until
    /// then: such a message has a buffer of its own. Without compression lws copies what the
    /// socket does not take, and the loop's shared buffer does.
    var ownBuffer: FrameWriteBuffer?

    init(_ message: OutboundMessage, fragmentBytes: Int, compressed: Bool) {
        self.message = message
        self.fragmentBytes = fragmentBytes
        ownBuffer = compressed ? FrameWriteBuffer(minimumCapacity: fragmentBytes) : nil
    }

    var isComplete: Bool { sent == message.count }

    /// The next fragment, and how lws frames it: the first as text, the rest as continuations,
    /// all but the last without FIN.
    mutating func nextFragment() -> (bytes: UnsafeRawBufferPointer, kind: lws_write_protocol) {
        let end = min(sent + fragmentBytes, message.count)
        var kind = sent == 0 ? LWS_WRITE_TEXT.rawValue : LWS_WRITE_CONTINUATION.rawValue
        if end < message.count { kind |= LWS_WRITE_NO_FIN.rawValue }
        let bytes = UnsafeRawBufferPointer(rebasing: message.payload[sent..<end])
        sent = end
        return (bytes, lws_write_protocol(rawValue: kind))
    }
}
