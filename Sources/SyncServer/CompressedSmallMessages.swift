import SyncEngine

/// The last few messages up to `FragmentSchedule.Configuration.compressionBytes` compressed for
/// permessage-deflate sessions, so that a Patch broadcast to every session is compressed once.
/// lws compressed it once per session, each time with a fresh zlib stream (no compression context
/// is kept between messages): about 5 µs of the service thread per message and session.
///
/// Every message is sent compressed, even one that compression makes a few bytes longer, as lws
/// did: RFC 7692 lets a sender leave a message uncompressed, but lws 4.1.6's own client then
/// stopped reading (PatchsyncBench over `SyncClient` with compression offered made no progress).
struct CompressedSmallMessages {
    /// A broadcast's writes come one after another, with few other messages between them.
    private static let capacity = 8
    /// Each entry holds its message, so that the identity compared is not reused meanwhile.
    private var entries: [(message: OutboundMessage, body: [UInt8]?)] = []
    /// Messages compressed so far: what the cache saves, for tests.
    private(set) var compressions = 0

    /// `message`'s payload as a permessage-deflate message body, or nil if zlib failed (then lws
    /// compresses it).
    mutating func body(of message: OutboundMessage) -> [UInt8]? {
        if let entry = entries.first(where: { $0.message === message }) { return entry.body }
        compressions += 1
        let body = PerMessageDeflate.compress(message.payload)
        if entries.count == Self.capacity { entries.removeFirst() }
        entries.append((message, body))
        return body
    }
}
