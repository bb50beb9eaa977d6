import CLibWebsockets

/// Joins the pieces of a WebSocket message that libwebsockets hands over into the whole
/// message, for both ends of the bridge, refusing any message larger than the limit before it
/// is fully buffered.
package struct MessageAssembler {
    package enum Outcome: Equatable {
        case incomplete
        case complete(AssembledMessage)
        case tooBig
    }

    private let limit: Int
    private let keepsBinaryPayload: Bool
    private var payload: [UInt8] = []
    private var byteCount = 0
    private var isBinary = false
    private var inProgress = false

    /// `keepsBinaryPayload` false: binary messages are only counted (the server refuses them
    /// whatever they hold, so it need not buffer them).
    package init(limit: Int, keepsBinaryPayload: Bool) {
        self.limit = limit
        self.keepsBinaryPayload = keepsBinaryPayload
    }

    /// Adds one piece. `isBinary` is read only at the start of a message; `isLast` ends it.
    package mutating func append(
        _ piece: UnsafeRawBufferPointer, isBinary binary: Bool, isLast: Bool
    ) -> Outcome {
        if !inProgress {
            inProgress = true
            byteCount = 0
            isBinary = binary
        }
        byteCount += piece.count
        if byteCount > limit {
            payload = []
            return .tooBig
        }
        if !isBinary || keepsBinaryPayload {
            payload.append(contentsOf: piece)
        }
        guard isLast else { return .incomplete }
        let message: AssembledMessage = isBinary ? .binary(payload, byteCount: byteCount) : .text(payload)
        payload = []
        byteCount = 0
        inProgress = false
        return .complete(message)
    }

    /// Whether the piece lws is handing over (in a RECEIVE callback) is binary, and whether it
    /// ends its message: the last fragment, and the last part of that fragment.
    package static func pieceFlags(of wsi: OpaquePointer) -> (isBinary: Bool, isLast: Bool) {
        (lws_frame_is_binary(wsi) != 0, lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0)
    }
}

/// A whole message from `MessageAssembler`.
package enum AssembledMessage: Equatable, Sendable {
    case text([UInt8])
    /// `payload` is empty unless the assembler keeps binary payloads; `byteCount` is the size.
    case binary([UInt8], byteCount: Int)
}
