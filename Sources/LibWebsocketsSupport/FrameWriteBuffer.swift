import CLibWebsockets

/// A buffer reused for every `lws_write` of copied payloads: lws needs LWS_PRE spare bytes in
/// front of the payload (for a frame header, and masks a client's payload in place), and copies
/// whatever the socket does not take at once, so the buffer is free again on return.
package struct FrameWriteBuffer {
    private var storage: [UInt8] = []
    private let minimumCapacity: Int

    package init(minimumCapacity: Int = 4096) {
        self.minimumCapacity = minimumCapacity
    }

    /// One `lws_write` of `prefix` followed by `payload` as `kind`; its result.
    package mutating func write(
        _ payload: some Collection<UInt8>, after prefix: [UInt8] = [], to wsi: OpaquePointer,
        as kind: lws_write_protocol
    ) -> Int32 {
        let headroom = Int(cpatchsync_lws_pre())
        let count = prefix.count + payload.count
        if storage.count < headroom + count {
            storage = [UInt8](repeating: 0, count: headroom + max(count, minimumCapacity))
        }
        return storage.withUnsafeMutableBufferPointer { buffer -> Int32 in
            let start = buffer.baseAddress! + headroom
            _ = UnsafeMutableBufferPointer(start: start, count: prefix.count).initialize(from: prefix)
            _ = UnsafeMutableBufferPointer(start: start + prefix.count, count: payload.count).initialize(from: payload)
            return lws_write(wsi, start, count, kind)
        }
    }
}
