import SyncEngine

/// The last large message compressed for permessage-deflate sessions, so that sessions sent
/// the same message (joining at one version, or watching one large change) share one
/// compression.
struct CompressedMessageCache {
    /// Held so that its identity stays unique while it is the key.
    private var message: OutboundMessage?
    private var compressed: [UInt8]?

    /// `message`'s payload as a permessage-deflate message body, or nil if zlib failed.
    mutating func compressed(_ message: OutboundMessage) -> [UInt8]? {
        if message === self.message { return compressed }
        self.message = message
        compressed = PerMessageDeflate.compress(message.payload)
        return compressed
    }
}
