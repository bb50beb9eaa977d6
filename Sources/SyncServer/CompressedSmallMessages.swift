import SyncEngine

/// The last few messages up to `FragmentSchedule.Configuration.compressionBytes` compressed for
/// permessage-deflate sessions, so that a Patch broadcast to every session is compressed once.
/// lws compressed it once per session, each time with a fresh zlib stream (no compression context
/// is kept between messages): about 5 µs of the service thread per message and session.
struct CompressedSmallMessages {
    /// Below this many bytes a message goes out uncompressed: an Ack gains nothing from a
    /// compressor that starts without a window (37 bytes become 38).
    static let minimumBytes = 128
    /// A broadcast's writes come one after another, with few other messages between them.
    private static let capacity = 8
    /// Each entry holds its message, so that the identity compared is not reused meanwhile.
    private var entries: [(message: OutboundMessage, body: [UInt8]?)] = []
    /// Messages compressed so far: what the cache saves, for tests.
    private(set) var compressions = 0

    /// `message`'s payload as a permessage-deflate message body, or nil if it goes out as it is
    /// (too small, not made smaller, or zlib failed).
    mutating func body(of message: OutboundMessage) -> [UInt8]? {
        guard message.count >= Self.minimumBytes else { return nil }
        if let entry = entries.first(where: { $0.message === message }) { return entry.body }
        compressions += 1
        let body = PerMessageDeflate.compress(message.payload).flatMap { $0.count < message.count ? $0 : nil }
        if entries.count == Self.capacity { entries.removeFirst() }
        entries.append((message, body))
        return body
    }
}
