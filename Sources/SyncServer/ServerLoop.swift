import CLibWebsockets
import Glibc
import Logging
import SyncAPI
import SyncEngine

/// Everything the service thread owns: the lws context, the sessions and the HTTP
/// responses in flight. Only the service thread touches an instance, from `run()`
/// and from the lws callbacks that `run()` drives.
final class ServerLoop {
    /// An accepted upgrade, between FILTER_PROTOCOL_CONNECTION and ESTABLISHED.
    struct UpgradeTicket {
        let document: DocumentName
        let since: UInt64?
        let client: ClientID?
        let role: SessionRole
        let clientAddress: String
        /// Set when the session is accepted only to be closed at once (connection limits).
        let refusal: String?
    }

    /// One open WebSocket connection.
    final class Session {
        let wsi: OpaquePointer
        let outbox: SessionOutbox
        let ticket: UpgradeTicket
        var id: SessionID?
        var assembler: MessageAssembler
        var rateLimiter: MessageRateLimiter?
        var refusedInARow = 0
        var closing = false
        /// A close that skips the queue (too big, too slow); sent from the next WRITEABLE.
        var pendingClose: (code: CloseCode, reason: String)?
        /// The message lws is writing. With permessage-deflate, lws compresses a large message
        /// over several writeable callbacks, reading the payload in place each time, and calls
        /// WRITEABLE again only once it is done: until then the payload must stay alive.
        var inFlight: OutboundMessage?

        init(wsi: OpaquePointer, outbox: SessionOutbox, ticket: UpgradeTicket, assembler: MessageAssembler) {
            self.wsi = wsi
            self.outbox = outbox
            self.ticket = ticket
            self.assembler = assembler
        }
    }

    /// An HTTP response being written: headers (unless written already), then a body chunk
    /// per HTTP_WRITEABLE.
    struct PendingBody {
        var head: (status: UInt32, contentType: String)?
        let bytes: [UInt8]
        var offset = 0
    }

    /// An API request whose body is still arriving.
    struct PendingRequest {
        var request: HTTPRequest
        var tooLarge = false
    }

    let configuration: ServerConfiguration
    let service: any SyncService
    let httpHandler: (any HTTPHandler)?
    let counters: ConnectionCounters
    let logger: Logger
    let wakeup: ServiceWakeup
    let originPolicy: OriginPolicy
    let accessPolicy: AccessPolicy

    var sessions: [UInt: Session] = [:]
    var upgrades: [UInt: UpgradeTicket] = [:]
    var bodies: [UInt: PendingBody] = [:]
    var requestBodies: [UInt: PendingRequest] = [:]
    /// Connections waiting for an HTTP handler, with the serial number of their request.
    var awaitingHandler: [UInt: UInt64] = [:]
    var nextRequestSerial: UInt64 = 0
    var connectionsPerAddress: [String: Int] = [:]
    var admittedConnections = 0
    var stopping = false
    /// Reused for every HTTP write: lws needs LWS_PRE spare bytes before the payload, and
    /// copies whatever the socket does not take at once, so the buffer is free on return.
    var httpWriteBuffer: [UInt8] = []

    private let storage: ContextStorage

    init(
        configuration: ServerConfiguration, service: any SyncService, httpHandler: (any HTTPHandler)?,
        counters: ConnectionCounters, logger: Logger, wakeup: ServiceWakeup
    ) {
        self.configuration = configuration
        self.service = service
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

        while !(stopping && sessions.isEmpty) {
            if lws_service(context, 0) < 0 {
                logger.error("libwebsockets service loop failed")
                break
            }
        }
        wakeup.detach()
        lws_context_destroy(context)
        logger.info("server stopped")
    }

    // MARK: Wakeups from other threads

    func handleWakeup() {
        let (outboxes, completions, stopRequested) = wakeup.takeScheduled()
        if stopRequested && !stopping {
            beginShutdown()
        }
        for completion in completions {
            deliver(completion)
        }
        for outbox in outboxes {
            guard let session = sessions[outbox.connectionKey], session.outbox === outbox else { continue }
            switch outbox.takeNotice() {
            case .nothing:
                break
            case .writable:
                lws_callback_on_writable(session.wsi)
            case .closeNow(let code, let reason):
                logger.warning(
                    "closing session",
                    metadata: metadata(session, ["code": "\(code.rawValue)", "reason": "\(reason)"]))
                if code == .tryAgainLater {
                    counters.slowClientDisconnected()
                }
                closeNow(session, code: code, reason: reason)
            }
        }
    }

    /// Closes without waiting for the queue: the close frame goes out in the next
    /// WRITEABLE callback, and lws drops the connection if the peer never lets it.
    func closeNow(_ session: Session, code: CloseCode, reason: String) {
        guard !session.closing else { return }
        session.closing = true
        session.outbox.discard()
        session.pendingClose = (code, reason)
        lws_callback_on_writable(session.wsi)
        lws_set_timeout(session.wsi, PENDING_TIMEOUT_USER_OK, Int32(max(configuration.closeTimeoutSeconds, 1)))
    }

    func setCloseReason(_ wsi: OpaquePointer, code: CloseCode, reason: String) {
        // A close frame's payload is at most 125 bytes, two of them the code.
        var bytes = Array(reason.utf8.prefix(120))
        bytes.withUnsafeMutableBufferPointer { buffer in
            lws_close_reason(wsi, lws_close_status(UInt32(code.rawValue)), buffer.baseAddress, buffer.count)
        }
    }

    // MARK: Shutdown

    private func beginShutdown() {
        stopping = true
        logger.info("shutting down", metadata: ["sessions": "\(sessions.count)"])
        let grace = Int32(max(configuration.closeTimeoutSeconds, 1))
        for session in sessions.values where !session.closing {
            session.outbox.closeAfterFlush(.goingAway, reason: "server shutting down")
            // The hard deadline for a peer that never reads what is still queued.
            lws_set_timeout(session.wsi, PENDING_TIMEOUT_USER_OK, grace)
            lws_callback_on_writable(session.wsi)
        }
    }

    // MARK: Logging

    func metadata(_ session: Session, _ extra: Logger.Metadata = [:]) -> Logger.Metadata {
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
