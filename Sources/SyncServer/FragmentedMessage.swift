import CLibWebsockets
import LibWebsocketsSupport
import SyncEngine

/// A message too large for one write, going out as WebSocket fragments, one per turn
/// (`FragmentSchedule`).
struct FragmentedMessage {
    enum Body {
        /// The payload, for a connection without compression: lws frames each fragment.
        case payload(OutboundMessage)
        /// The payload compressed once for every permessage-deflate session
        /// (`PerMessageDeflate`), in frames the bridge makes and lws writes as they are.
        case compressed([UInt8])
    }

    let body: Body
    let fragmentBytes: Int
    /// Bytes of the body written so far.
    private(set) var sent = 0

    init(_ body: Body, fragmentBytes: Int) {
        self.body = body
        self.fragmentBytes = fragmentBytes
    }

    private var count: Int {
        switch body {
        case .payload(let message): message.count
        case .compressed(let bytes): bytes.count
        }
    }

    var isComplete: Bool { sent == count }

    /// Writes the next fragment to `wsi`, copied through `buffer` (lws copies what the socket
    /// does not take, so the buffer is free again on return); `lws_write`'s result.
    mutating func writeNext(to wsi: OpaquePointer, through buffer: inout FrameWriteBuffer) -> Int32 {
        let start = sent
        sent = min(sent + fragmentBytes, count)
        let (first, last) = (start == 0, isComplete)
        switch body {
        case .payload(let message):
            var kind = first ? LWS_WRITE_TEXT.rawValue : LWS_WRITE_CONTINUATION.rawValue
            if !last { kind |= LWS_WRITE_NO_FIN.rawValue }
            let bytes = UnsafeRawBufferPointer(rebasing: message.payload[start..<sent])
            return buffer.write(bytes, to: wsi, as: lws_write_protocol(rawValue: kind))
        case .compressed(let bytes):
            let header = ServerFrameHeader.bytes(first: first, last: last, compressed: true, length: sent - start)
            // LWS_WRITE_HTTP is lws's LWS_WRITE_RAW: the bytes go out as they are.
            return buffer.write(bytes[start..<sent], after: header, to: wsi, as: LWS_WRITE_HTTP)
        }
    }
}
