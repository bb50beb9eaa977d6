import CZlib

/// A whole message compressed as a permessage-deflate message body (RFC 7692 section 7.2.1):
/// raw deflate from a fresh compressor, ended by a sync flush whose last four bytes
/// (00 00 ff ff) are left off. The server keeps no compression context between messages, so
/// these are the bytes any of its sessions may send for the message: made once, they are
/// shared by every session, where lws would run zlib over the message once per session.
enum PerMessageDeflate {
    /// zlib's fastest level, as lws uses: this runs on the service thread.
    static let level: Int32 = 1
    /// What a sync flush ends with; a message body leaves it off.
    static let flushMarker: [UInt8] = [0, 0, 0xff, 0xff]

    /// The compressed body of `payload`, or nil if zlib fails (out of memory).
    static func compress(_ payload: UnsafeRawBufferPointer) -> [UInt8]? {
        guard var body = compressedPiece(payload) else { return nil }
        body.removeLast(flushMarker.count)
        return body
    }

    /// `payload` compressed by a fresh compressor and ended by a sync flush, its marker kept, or
    /// nil if zlib fails. The bytes end on a byte boundary in no final block and refer to nothing
    /// before them, so pieces compressed apart, put end to end, are one deflate stream that
    /// inflates to the pieces' bytes end to end (a message body once the last marker is off).
    static func compressedPiece(_ payload: UnsafeRawBufferPointer) -> [UInt8]? {
        var stream = z_stream()
        guard cpatchsync_deflate_init_raw(&stream, level, 15, 8) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        // A sync flush adds at most a few bytes per 16 KiB stored block beyond deflateBound's.
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(payload.count))) + 64)
        let produced = output.withUnsafeMutableBytes { out -> Int? in
            stream.next_in = UnsafeMutablePointer(mutating: payload.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = UInt32(payload.count)
            stream.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = UInt32(out.count)
            guard deflate(&stream, Z_SYNC_FLUSH) == Z_OK, stream.avail_in == 0, stream.avail_out > 0 else {
                return nil
            }
            return out.count - Int(stream.avail_out)
        }
        guard let produced, produced >= flushMarker.count,
            output[(produced - flushMarker.count)..<produced].elementsEqual(flushMarker)
        else { return nil }
        output.removeSubrange(produced...)
        return output
    }
}
