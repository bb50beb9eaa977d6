import Glibc

/// A joinable POSIX thread running one closure: libwebsockets' service loop needs a thread of
/// its own, and the stdlib has no thread type without Foundation.
final class ServiceThread: Sendable {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @Sendable @escaping () -> Void) { self.run = run }
    }

    private let thread: pthread_t

    /// Returns nil when the system refuses another thread.
    init?(_ run: @Sendable @escaping () -> Void) {
        let body = Unmanaged.passRetained(Body(run)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            let body = Unmanaged<Body>.fromOpaque(argument).takeRetainedValue()
            body.run()
            return nil
        }, body)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(body).release()
            return nil
        }
        self.thread = thread
    }

    var isCurrent: Bool { pthread_equal(pthread_self(), thread) != 0 }

    func join() {
        pthread_join(thread, nil)
    }
}
