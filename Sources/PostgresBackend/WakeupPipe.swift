import Glibc
import SystemSupport

/// A pipe that wakes a thread waiting in `poll()`: another thread writes a byte, the waiting
/// thread polls `readDescriptor` beside its socket and drains it.
final class WakeupPipe: Sendable {
    let readDescriptor: Int32
    private let writeDescriptor: Int32

    /// Without a pipe (out of descriptors) `signal` does nothing and waits run to their timeout.
    init() {
        var descriptors: [Int32] = [-1, -1]
        if pipe(&descriptors) == 0 {
            for descriptor in descriptors {
                _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
                // Never blocks a writer, however many wake-ups are pending.
                _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            }
        } else {
            descriptors = [-1, -1]
        }
        (readDescriptor, writeDescriptor) = (descriptors[0], descriptors[1])
    }

    deinit {
        if readDescriptor >= 0 { close(readDescriptor) }
        if writeDescriptor >= 0 { close(writeDescriptor) }
    }

    /// A full pipe (EAGAIN) already holds a wake-up: nothing is lost by not writing.
    func signal() {
        var byte: UInt8 = 1
        _ = try? SystemCall.retryingInterrupts("write") { write(writeDescriptor, &byte, 1) }
    }

    /// Reads the pending wake-ups (until EAGAIN), so that the next `poll()` waits again.
    func drain() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while (try? SystemCall.retryingInterrupts("read") { read(readDescriptor, &bytes, bytes.count) }) ?? 0 > 0 {}
    }

    /// Sleeps for `duration` unless `signal()` wakes it.
    func wait(_ duration: Duration) {
        var descriptor = pollfd(fd: readDescriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, Self.milliseconds(duration))
    }

    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        return Int32(clamping: max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
    }
}
