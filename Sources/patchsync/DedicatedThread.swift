import Glibc

/// Runs a blocking call (a `read`, a `pthread_join`) on a thread of its own, so it
/// never holds one of Swift concurrency's few cooperative threads.
func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
        let job = DedicatedThreadJob { continuation.resume(returning: body()) }
        let retained = Unmanaged.passRetained(job)
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { return nil }
                Unmanaged<DedicatedThreadJob>.fromOpaque(argument).takeRetainedValue().run()
                return nil
            }, retained.toOpaque())
        if created == 0 {
            pthread_detach(thread)
        } else {
            // No thread to be had: block here rather than never answer.
            retained.release()
            job.run()
        }
    }
}

private final class DedicatedThreadJob: Sendable {
    let run: @Sendable () -> Void

    init(_ run: @escaping @Sendable () -> Void) {
        self.run = run
    }
}
