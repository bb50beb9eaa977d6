/// The header of an unmasked server frame (RFC 6455 section 5.2), for the frames the bridge
/// makes itself: every message to a permessage-deflate session, compressed once for every session
/// it goes to (`PerMessageDeflate`).
enum ServerFrameHeader {
    /// A text message's fragment: the first carries the opcode (and RSV1 when compressed),
    /// the rest are continuations; the last has FIN.
    static func bytes(first: Bool, last: Bool, compressed: Bool, length: Int) -> [UInt8] {
        var byte0: UInt8 = first ? 0x1 : 0x0
        if last { byte0 |= 0x80 }
        if first && compressed { byte0 |= 0x40 }
        switch length {
        case ..<126:
            return [byte0, UInt8(length)]
        case ..<65536:
            return [byte0, 126, UInt8(length >> 8), UInt8(length & 0xff)]
        default:
            return [byte0, 127] + (0..<8).reversed().map { UInt8((UInt64(length) >> (8 * $0)) & 0xff) }
        }
    }
}
