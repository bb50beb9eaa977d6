import Glibc

/// A POSIX thread running one closure: the one way patchsync starts a thread (libwebsockets' loops and blocking calls need threads of their own, and the
/// stdlib has no thread type without Foundation).
public final class PosixThread: Sendable {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @Sendable @escaping () -> Void) { self.run = run }
    }

    private let thread: pthread_t

    /// Starts `body` on a new thread. A detached thread cannot be joined; its resources go when it ends.
    public init(detached: Bool = false, _ body: @Sendable @escaping () -> Void) throws(SystemCallError) {
        let retained = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { return nil }
                Unmanaged<Body>.fromOpaque(argument).takeRetainedValue().run()
                return nil
            }, retained)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(retained).release()
            throw SystemCallError(call: "pthread_create", errno: result)
        }
        if detached { pthread_detach(thread) }
        self.thread = thread
    }

    /// Whether the caller runs on this thread.
    public var isCurrent: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Blocks until the thread has ended. Not for detached threads, nor from a cooperative thread.
    public func join() {
        pthread_join(thread, nil)
    }

    /// Runs a blocking call (a `read`, a `wait`) on a thread of its own and returns its result, so
    /// that it never holds one of Swift concurrency's few cooperative threads.
    public static func result<T: Sendable>(of body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            do {
                _ = try PosixThread(detached: true) { continuation.resume(returning: body()) }
            } catch {
                // No thread to be had: block here rather than never answer.
                continuation.resume(returning: body())
            }
        }
    }
}
