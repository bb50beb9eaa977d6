import Glibc
import Logging
import SyncAPI
import SyncEngine
import Synchronization

/// The patchsync HTTP and WebSocket server: libwebsockets on one dedicated service
/// thread, bridged to a `SyncService`.
///
///     let server = PatchsyncServer(
///         configuration: config, service: engine, httpHandler: api, counters: counters, logger: logger)
///     let address = try server.start()      // listening when this returns
///     ...
///     server.shutdown()                     // from any thread, e.g. on SIGTERM
///     server.waitUntilStopped()             // sessions closed with 1001, context destroyed
public final class PatchsyncServer: Sendable {
    private enum Phase {
        case idle
        case running(pthread_t)
        case joined
    }

    public let configuration: ServerConfiguration
    /// Connection counters for `/metrics`; pass the same object to the handler that renders them.
    public let counters: ConnectionCounters
    private let service: any SyncService
    private let httpHandler: (any HTTPHandler)?
    private let logger: Logger
    private let wakeup = ServiceWakeup()
    private let phase = Mutex(Phase.idle)

    /// `httpHandler` answers `/api/...` and `/metrics` (after the server checked the token);
    /// without one those paths are 404.
    public init(
        configuration: ServerConfiguration, service: any SyncService, httpHandler: (any HTTPHandler)? = nil,
        counters: ConnectionCounters = ConnectionCounters(), logger: Logger
    ) {
        self.configuration = configuration
        self.service = service
        self.httpHandler = httpHandler
        self.counters = counters
        self.logger = logger
    }

    /// Starts the service thread and returns once the server listens, with the actual
    /// address (the kernel's choice when the configured port is 0).
    public func start() throws(ServerError) -> ServerConfiguration.Listener {
        try validate(configuration)
        let alreadyStarted = phase.withLock { phase -> Bool in
            if case .idle = phase { return false }
            return true
        }
        guard !alreadyStarted else { throw ServerError(.alreadyStarted, "start() may be called once") }
        if case .unix(let path) = configuration.listener {
            try removeStaleSocket(at: path)
        }

        let loop = ServerLoop(
            configuration: configuration, service: service, httpHandler: httpHandler, counters: counters,
            logger: logger, wakeup: wakeup)
        let launch = ThreadLaunch(loop: loop)
        let retained = Unmanaged.passRetained(launch)
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { return nil }
                let launch = Unmanaged<ThreadLaunch>.fromOpaque(argument).takeRetainedValue()
                launch.loop.run { result in launch.report(result) }
                // Sessions may still reference the loop's wakeup, never the loop: it ends here.
                return nil
            }, retained.toOpaque())
        guard created == 0 else {
            retained.release()
            throw ServerError(.threadCreationFailed, "pthread_create failed with error \(created)")
        }
        phase.withLock { $0 = .running(thread) }
        switch launch.waitForReport() {
        case .success(let listening):
            logger.info("listening", metadata: ["address": "\(listening)"])
            return listening
        case .failure(let error):
            waitUntilStopped()
            throw error
        }
    }

    /// Begins a graceful shutdown: no new connections, pending writes flushed, sessions
    /// closed with 1001 (or dropped after `closeTimeoutSeconds`). Returns at once.
    public func shutdown() {
        wakeup.requestStop()
    }

    /// Blocks until the service thread has finished (after `shutdown()` or a failed start).
    public func waitUntilStopped() {
        let thread = phase.withLock { phase -> pthread_t? in
            guard case .running(let thread) = phase else { return nil }
            phase = .joined
            return thread
        }
        if let thread {
            pthread_join(thread, nil)
        }
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

/// Hands the loop to the new thread and its start-up result back to `start()`.
private final class ThreadLaunch: @unchecked Sendable {
    // The loop is used only by the service thread once launched.
    let loop: ServerLoop
    private let result = Mutex<Result<ServerConfiguration.Listener, ServerError>?>(nil)
    private let semaphore: UnsafeMutablePointer<sem_t>

    init(loop: ServerLoop) {
        self.loop = loop
        semaphore = .allocate(capacity: 1)
        sem_init(semaphore, 0, 0)
    }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    func report(_ outcome: Result<ServerConfiguration.Listener, ServerError>) {
        result.withLock { $0 = outcome }
        sem_post(semaphore)
    }

    func waitForReport() -> Result<ServerConfiguration.Listener, ServerError> {
        while sem_wait(semaphore) != 0 && errno == EINTR {}
        return result.withLock { $0 } ?? .failure(ServerError(.listenFailed, "service thread ended early"))
    }
}
