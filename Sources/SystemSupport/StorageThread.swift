import Glibc

/// A dedicated thread for blocking store calls (write, fsync, rename; a database round trip).
///
/// fsync on an SD card can take tens of milliseconds, and a database round trip blocks until
/// the server answers; running them on the Swift cooperative pool would stall every other
/// document and session meanwhile. Jobs run one at a time in submission order.
public final class StorageThread: @unchecked Sendable {
    // Guarded by `mutex`; @unchecked because pthread primitives are not Sendable types.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false
    private var thread: PosixThread?

    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        // The thread holds a reference until it exits, so the object outlives it.
        do {
            thread = try PosixThread { [self] in runLoop() }
        } catch {
            // Without a thread, run jobs inline: correct, only slower.
            stopping = true
        }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `job` on the storage thread and returns its result.
    public func run<T: Sendable, E: Error>(_ job: @escaping @Sendable () throws(E) -> T) async -> Result<T, E> {
        await withCheckedContinuation { continuation in
            submit {
                continuation.resume(returning: Result { () throws(E) -> T in try job() })
            }
        }
    }

    /// Runs `job` on the storage thread and returns its result or throws its error: how a store
    /// offers its blocking calls as async ones without blocking the caller's thread.
    public func call<T: Sendable, E: Error>(_ job: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        try await run(job).get()
    }

    /// Runs `job` on the storage thread and waits for it.
    public func perform(_ job: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { continuation in
            submit {
                job()
                continuation.resume()
            }
        }
    }

    /// Lets queued jobs finish, then ends the thread. Later jobs run inline on the caller.
    public func stop() {
        pthread_mutex_lock(mutex)
        let wasRunning = !stopping
        stopping = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        if wasRunning { thread?.join() }
    }

    /// Queues `job` on the storage thread without waiting for it (after `stop`, runs it on the caller).
    public func submit(_ job: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(mutex)
        if stopping {
            pthread_mutex_unlock(mutex)
            job()
            return
        }
        jobs.append(job)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    private func runLoop() {
        while true {
            pthread_mutex_lock(mutex)
            while jobs.isEmpty && !stopping {
                pthread_cond_wait(condition, mutex)
            }
            if jobs.isEmpty {
                pthread_mutex_unlock(mutex)
                return
            }
            let batch = jobs
            jobs.removeAll()
            pthread_mutex_unlock(mutex)
            for job in batch { job() }
        }
    }
}
