import Glibc
import SystemSupport

/// SIGINT and SIGTERM (and SIGHUP, when something can be reloaded), turned into something a
/// task can await. The handler only writes a byte to a pipe (async-signal-safe); a dedicated
/// thread reads it.
enum TerminationSignals {
    nonisolated(unsafe) private static var pipeWriteEnd: Int32 = -1

    /// Installs the handlers; returns the pipe's read end to pass to `wait`.
    static func install(reloading: Bool = false) -> Int32? {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return nil }
        pipeWriteEnd = ends[1]
        let handler: @convention(c) (Int32) -> Void = { number in
            var byte = UInt8(truncatingIfNeeded: number)
            _ = write(TerminationSignals.pipeWriteEnd, &byte, 1)
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        if reloading { signal(SIGHUP, handler) }
        return ends[0]
    }

    /// Returns the number of the first signal received.
    static func wait(readEnd: Int32) async -> Int32 {
        await PosixThread.result {
            var byte: UInt8 = 0
            let count = try? SystemCall.retryingInterrupts("read") { read(readEnd, &byte, 1) }
            return count == 1 ? Int32(byte) : SIGTERM
        }
    }
}
