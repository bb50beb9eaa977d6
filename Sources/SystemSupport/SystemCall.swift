import Glibc

/// A system call that failed, with the call's name and the error number.
public struct SystemCallError: Error, Equatable, CustomStringConvertible {
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// The one place system calls are retried after a signal and their failures become typed errors.
public enum SystemCall {
    /// Calls `body` until it does not fail with `EINTR`; -1 with any other `errno` throws.
    @discardableResult
    public static func retryingInterrupts<Result: BinaryInteger>(
        _ call: String, _ body: () -> Result
    ) throws(SystemCallError) -> Result {
        while true {
            let result = body()
            if result != -1 { return result }
            let error = Glibc.errno
            if error != EINTR { throw SystemCallError(call: call, errno: error) }
        }
    }
}
