import CLibWebsockets
import LibWebsocketsSupport
import Glibc
import Logging
import SyncAPI
import SyncEngine
import SystemSupport

/// Everything the service thread owns: the lws context, the sessions and the HTTP
/// responses in flight. Only the service thread touches an instance, from `run()`
/// and from the lws callbacks that `run()` drives.
final class ServerLoop {
    let configuration: ServerConfiguration
    let engine: any SessionEngine
    let httpHandler: (any HTTPHandler)?
    let counters: ConnectionCounters
    let logger: Logger
    let wakeup: ServerWakeup
    let originPolicy: OriginPolicy
    let accessPolicy: AccessPolicy

    /// Open WebSocket sessions, by their outbox, for wakeups and shutdown.
    var sessions: [ObjectIdentifier: WebSocketSession] = [:]
    /// HTTP requests in progress, by connection.
    var exchanges: [UInt: HTTPExchange] = [:]
    /// Exchanges waiting for the HTTP handler.
    var awaitingHandler: [HTTPExchange.ID: HTTPExchange] = [:]
    var nextExchangeID: UInt64 = 0
    var connectionsPerAddress: [String: Int] = [:]
    var admittedConnections = 0
    var stopping = false
    /// When a shutdown stops waiting for sessions to close: `closeTimeoutSeconds` after it began.
    var shutdownDeadline: ContinuousClock.Instant?
    /// Set just before `lws_context_destroy`, which closes what is left: no cancel after that.
    var destroyingContext = false
    /// Copies of payloads that lws must not read in place: HTTP bodies, the fragments of large
    /// WebSocket messages, and the frames the bridge makes for permessage-deflate sessions.
    var writeBuffer = FrameWriteBuffer(minimumCapacity: 16 * 1024)
    var fragmentSchedule = FragmentSchedule<WebSocketSession>()
    var compressedMessages = CompressedMessageCache()
    var compressedSmallMessages = CompressedSmallMessages()
    var coalescedPatches = CoalescedPatchCache()
    /// Every action, broadcast and API answer passes through a wakeup: half a second after the
    /// last one, the memory freed meanwhile goes back to the system.
    let memoryTrim = IdleMemoryTrim(delay: .milliseconds(500))

    private let storage: ContextStorage

    init(
        configuration: ServerConfiguration, engine: any SessionEngine, httpHandler: (any HTTPHandler)?,
        counters: ConnectionCounters, logger: Logger, wakeup: ServerWakeup
    ) {
        self.configuration = configuration
        self.engine = engine
        self.httpHandler = httpHandler
        self.counters = counters
        self.logger = logger
        self.wakeup = wakeup
        self.originPolicy = OriginPolicy(allowedOrigins: configuration.allowedOrigins)
        self.accessPolicy = AccessPolicy(credentials: configuration.credentials)
        self.storage = ContextStorage(configuration: configuration)
    }

    static func key(_ wsi: OpaquePointer) -> UInt {
        UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(wsi)))
    }

    /// Creates the context, reports where it listens, serves until shutdown
    /// completes, then destroys the context, all on the calling (service) thread.
    func run(reportStart: (Result<ServerConfiguration.Listener, ServerError>) -> Void) {
        precondition(Int(cpatchsync_lws_pre()) <= OutboundMessage.headroom, "LWS_PRE exceeds OutboundMessage.headroom")
        var info = storage.creationInfo(user: Unmanaged.passUnretained(self).toOpaque())
        guard let context = lws_create_context(&info) else {
            reportStart(.failure(ServerError(.listenFailed, "cannot listen on \(configuration.listener)")))
            return
        }
        wakeup.attach(context: context)
        let listening: ServerConfiguration.Listener
        switch configuration.listener {
        case .tcp(let host, _):
            let port = lws_get_vhost_listen_port(lws_get_vhost_by_name(context, "default"))
            listening = .tcp(host: host, port: Int(port))
        case .unix(let path):
            do {
                try UnixSocketAccess.grant(path: path, group: configuration.unixSocketGroup)
            } catch {
                wakeup.detach()
                lws_context_destroy(context)
                reportStart(.failure(error))
                return
            }
            listening = .unix(path: path)
        }
        reportStart(.success(listening))

        while !(stopping && (sessions.isEmpty || isPastShutdownDeadline)) {
            for session in fragmentSchedule.beginRound() {
                lws_callback_on_writable(session.wsi)
            }
            if lws_service(context, 0) < 0 {
                logger.error("libwebsockets service loop failed")
                break
            }
        }
        if !sessions.isEmpty {
            logger.notice(
                "dropping sessions that did not close within the close timeout",
                metadata: ["sessions": "\(sessions.count)"])
        }
        wakeup.detach()
        destroyingContext = true
        lws_context_destroy(context)
        logger.info("server stopped")
    }

    // MARK: Wakeups from other threads

    /// Takes what other threads posted until nothing is left, which re-arms the wakeup.
    func handleWakeup() {
        memoryTrim.noteActivity()
        while true {
            let work = wakeup.take()
            if work.stopRequested && !stopping {
                beginShutdown()
            }
            for item in work.items {
                switch item {
                case .completion(let completion):
                    deliver(completion)
                case .outbox(let outbox):
                    guard let session = sessions[ObjectIdentifier(outbox)] else { continue }
                    perform(outbox.withMachine { $0.wakeup() }, for: session)
                }
            }
            if work.items.isEmpty { return }
        }
    }

    /// What a session's state machine asked for after a wakeup.
    func perform(_ action: SessionStateMachine.WakeupAction, for session: WebSocketSession) {
        switch action {
        case .none:
            break
        case .requestWrite:
            if !fragmentSchedule.callsBack(session) {
                lws_callback_on_writable(session.wsi)
            }
        case .beginClose(let frame, let droppedQueue):
            if droppedQueue {
                counters.slowClientDisconnected()
            }
            beginClose(session, frame)
        }
    }

    /// The one way a session closes: the close frame goes out in the next WRITEABLE callback,
    /// and lws drops the connection if the peer does not let it within the close timeout.
    func beginClose(_ session: WebSocketSession, _ frame: SessionStateMachine.CloseFrame) {
        if frame.code != .goingAway {
            logger.warning(
                "closing session",
                metadata: metadata(session, ["code": "\(frame.code.rawValue)", "reason": "\(frame.reason)"]))
        }
        lws_set_timeout(session.wsi, PENDING_TIMEOUT_USER_OK, Int32(max(configuration.closeTimeoutSeconds, 1)))
        lws_callback_on_writable(session.wsi)
    }

    // MARK: Shutdown

    private func beginShutdown() {
        stopping = true
        logger.info("shutting down", metadata: ["sessions": "\(sessions.count)"])
        for session in sessions.values {
            perform(session.outbox.withMachine { $0.shutdown() }, for: session)
        }
        // lws keeps a session whose close frame went out for 5 s waiting for the peer's answer
        // (PENDING_TIMEOUT_CLOSE_ACK, fixed in 4.1.6), whatever `lws_set_timeout` said before: a
        // peer that stopped reading would hold the shutdown that long. So the loop stops waiting
        // at the close timeout, woken then in case nothing else happens, and the context's
        // destruction drops what is left.
        let timeout = Duration.seconds(max(configuration.closeTimeoutSeconds, 1))
        shutdownDeadline = .now + timeout
        let wakeup = self.wakeup
        Task.detached {
            try? await Task.sleep(for: timeout + .milliseconds(50))
            wakeup.requestStop()  // a wakeup only; refused once the context is gone
        }
    }

    private var isPastShutdownDeadline: Bool {
        shutdownDeadline.map { ContinuousClock.now >= $0 } ?? false
    }

    // MARK: Logging

    func metadata(_ session: WebSocketSession, _ extra: Logger.Metadata = [:]) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "client": "\(session.ticket.clientAddress)",
            "document": "\(session.ticket.document)",
        ]
        if let id = session.id {
            metadata["session"] = "\(id)"
        }
        metadata.merge(extra) { _, new in new }
        return metadata
    }
}
