import CLibWebsockets

/// The status and reason of a close frame, for both ends of the bridge.
package enum CloseReason {
    /// A close frame's payload is at most 125 bytes, two of them the code.
    package static let maximumBytes = 123

    /// `reason`'s UTF-8, cut at a character boundary to fit a close frame.
    package static func truncated(_ reason: String) -> Substring.UTF8View {
        var end = reason.startIndex
        for index in reason.indices {
            let next = reason.index(after: index)
            guard reason.utf8.distance(from: reason.startIndex, to: next) <= maximumBytes else { break }
            end = next
        }
        return reason[..<end].utf8
    }

    /// Sets what the close frame lws writes next will carry (on the connection's service thread).
    package static func set(on wsi: OpaquePointer, code: UInt16, reason: String) {
        var bytes = Array(truncated(reason))
        bytes.withUnsafeMutableBufferPointer { buffer in
            lws_close_reason(wsi, lws_close_status(UInt32(code)), buffer.baseAddress, buffer.count)
        }
    }

    /// The status and reason of a close frame's payload (as lws hands it to
    /// `LWS_CALLBACK_WS_PEER_INITIATED_CLOSE`); no status when the payload has none.
    package static func parse(_ payload: UnsafeRawBufferPointer) -> (code: UInt16?, reason: String) {
        guard payload.count >= 2 else { return (nil, "") }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        return (code, String(decoding: payload[2...], as: UTF8.self))
    }
}
