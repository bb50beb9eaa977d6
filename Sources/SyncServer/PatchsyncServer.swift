import Glibc
import Logging
import SyncAPI
import SyncEngine
import Synchronization
import SystemSupport

/// The patchsync HTTP and WebSocket server: libwebsockets on one dedicated service
/// thread, bridged to a `SessionEngine`.
///
///     let server = PatchsyncServer(
///         configuration: config, engine: engine, httpHandler: api, counters: counters, logger: logger)
///     let address = try await server.start()   // listening when this returns
///     ...
///     await server.stop()                      // sessions closed with 1001, context destroyed
///
/// Neither call blocks a thread of Swift concurrency's pool: they wait for the service thread
/// through continuations it resumes.
public final class PatchsyncServer: Sendable {
    private enum Phase {
        case idle
        case running
        case stopped
    }

    private struct Lifecycle {
        var phase = Phase.idle
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
    }

    public let configuration: ServerConfiguration
    /// Connection counters for `/metrics`; pass the same object to the handler that renders them.
    public let counters: ConnectionCounters
    private let engine: any SessionEngine
    private let httpHandler: (any HTTPHandler)?
    private let logger: Logger
    private let wakeup = ServerWakeup()
    private let lifecycle = Mutex(Lifecycle())

    /// `httpHandler` answers `/api/...` and `/metrics` (after the server checked the token);
    /// without one those paths are 404.
    public init(
        configuration: ServerConfiguration, engine: any SessionEngine, httpHandler: (any HTTPHandler)? = nil,
        counters: ConnectionCounters = ConnectionCounters(), logger: Logger
    ) {
        self.configuration = configuration
        self.engine = engine
        self.httpHandler = httpHandler
        self.counters = counters
        self.logger = logger
    }

    /// Starts the service thread and returns once the server listens, with the actual
    /// address (the kernel's choice when the configured port is 0).
    public func start() async throws(ServerError) -> ServerConfiguration.Listener {
        try validate(configuration)
        let alreadyStarted = lifecycle.withLock { lifecycle -> Bool in
            guard case .idle = lifecycle.phase else { return true }
            lifecycle.phase = .running
            return false
        }
        guard !alreadyStarted else { throw ServerError(.alreadyStarted, "start() may be called once") }
        if case .unix(let path) = configuration.listener {
            try removeStaleSocket(at: path)
        }

        // Handed to the service thread, the only one that uses it from then on.
        nonisolated(unsafe) let loop = ServerLoop(
            configuration: configuration, engine: engine, httpHandler: httpHandler, counters: counters,
            logger: logger, wakeup: wakeup)
        let started = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<ServerConfiguration.Listener, ServerError>, Never>) in
            do {
                _ = try PosixThread(detached: true) {
                    loop.run { result in continuation.resume(returning: result) }
                    // Sessions may still reference the loop's wakeup, never the loop: it ends here.
                    self.serviceThreadEnded()
                }
            } catch {
                serviceThreadEnded()
                continuation.resume(returning: .failure(ServerError(.threadCreationFailed, "\(error)")))
            }
        }
        let listening = try started.get()
        logger.info("listening", metadata: ["address": "\(listening)"])
        return listening
    }

    /// Begins a graceful shutdown: no new connections, pending writes flushed, sessions
    /// closed with 1001 (or dropped after `closeTimeoutSeconds`). Returns at once.
    public func shutdown() {
        wakeup.requestStop()
    }

    /// Shuts down (see `shutdown()`) and returns once the service thread has finished.
    public func stop() async {
        shutdown()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = lifecycle.withLock { lifecycle -> Bool in
                guard case .running = lifecycle.phase else { return true }
                lifecycle.stopWaiters.append(continuation)
                return false
            }
            if finished { continuation.resume() }
        }
    }

    private func serviceThreadEnded() {
        let waiters = lifecycle.withLock { lifecycle in
            lifecycle.phase = .stopped
            defer { lifecycle.stopWaiters = [] }
            return lifecycle.stopWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func validate(_ configuration: ServerConfiguration) throws(ServerError) {
        if case .tcp(_, let port) = configuration.listener, !(0...65535).contains(port) {
            throw ServerError(.invalidConfiguration, "port \(port) is outside 0...65535")
        }
        if case .unix(let path) = configuration.listener, path.isEmpty || path.utf8.count > 107 {
            throw ServerError(.invalidConfiguration, "unix socket path must be 1 to 107 bytes: '\(path)'")
        }
        guard configuration.maximumMessageBytes > 0 else {
            throw ServerError(.invalidConfiguration, "maximum message size must be positive")
        }
        guard configuration.outboundQueueLimitBytes > 0 else {
            throw ServerError(.invalidConfiguration, "outbound queue limit must be positive")
        }
        let keepalive = configuration.keepalive
        guard keepalive.pingAfterSeconds > 0, keepalive.dropAfterSeconds > keepalive.pingAfterSeconds else {
            throw ServerError(
                .invalidConfiguration, "keepalive: ping after > 0 s, and drop after more than the ping interval")
        }
    }

    /// A socket file left by a previous run would make bind fail; anything else at the path is an error.
    private func removeStaleSocket(at path: String) throws(ServerError) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw ServerError(.invalidConfiguration, "\(path) exists and is not a socket")
        }
        unlink(path)
    }
}
