import CLibWebsockets
import Glibc
import LibWebsocketsSupport
import Logging

/// The state behind a `WebSocketClientLoop`: the lws context, the cross-thread command queue
/// (a `LoopWakeup`), and the connections, which only the service thread touches.
final class ClientLoopCore: @unchecked Sendable {
    enum Command: Sendable {
        case open(id: WebSocketConnectionID, url: WebSocketURL, options: WebSocketConnectionOptions,
                  handler: any WebSocketConnectionHandler)
        case send(id: WebSocketConnectionID, message: [UInt8])
        case close(id: WebSocketConnectionID, code: UInt16, reason: String)
    }

    let logger: Logger
    private let wakeup = LoopWakeup<Command>()
    /// Written once before the service thread starts, then read only by it.
    private var context: OpaquePointer?
    private var protocols: UnsafeMutablePointer<lws_protocols>?
    private var protocolName: UnsafeMutablePointer<CChar>?
    /// Whether the context was created with TLS, so that it can open `wss://` URLs.
    private var hasTLS = false
    /// Service thread only.
    private var connections: [UInt64: WebSocketConnection] = [:]

    init(logger: Logger) {
        self.logger = logger
    }

    func createContext(connectTimeoutSeconds: Int, tls: ClientTLSConfiguration?, offersCompression: Bool) -> Bool {
        let name = strdup("patchsync-client")
        let protocols = UnsafeMutablePointer<lws_protocols>.allocate(capacity: 2)
        protocols.initialize(repeating: lws_protocols(), count: 2)
        protocols[0].name = UnsafePointer(name)
        protocols[0].callback = syncClientProtocolCallback
        protocols[0].rx_buffer_size = 65536
        self.protocols = protocols
        self.protocolName = name

        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(protocols)
        info.gid = -1
        info.uid = -1
        let seconds = UInt32(clamping: max(1, connectTimeoutSeconds))
        info.timeout_secs = seconds
        info.connect_timeout_secs = seconds
        info.user = Unmanaged.passUnretained(self).toOpaque()
        if offersCompression { info.extensions = permessageDeflateExtensions }
        context = if let tls { tls.withContextInfo(&info) { lws_create_context(&$0) } } else { lws_create_context(&info) }
        hasTLS = tls != nil
        guard let context else {
            freeProtocols()
            return false
        }
        wakeup.attach(context: context)
        return true
    }

    func destroyUnstartedContext() {
        wakeup.detach()
        if let context { lws_context_destroy(context) }
        context = nil
        freeProtocols()
    }

    private func freeProtocols() {
        protocols?.deallocate()
        protocols = nil
        free(protocolName)
        protocolName = nil
    }

    // MARK: Any thread

    /// Queues a command for the service thread; dropped once the loop is stopping.
    func enqueue(_ command: Command) {
        wakeup.post(command, refusedOnceStopping: true)
    }

    func requestStop() {
        wakeup.requestStop()
    }

    // MARK: Service thread

    func runServiceLoop() {
        guard let context else { return }
        while !wakeup.isStopRequested {
            if lws_service(context, 0) < 0 { break }
        }
        // Also after lws_service failed: from here on commands are refused, not queued.
        let leftover = wakeup.detach()
        lws_context_destroy(context)
        self.context = nil
        let stopped = SyncClientError.closed(code: nil, reason: "client loop shut down")
        for connection in connections.values {
            finish(connection, stopped)
        }
        for case .open(let id, let url, let options, let handler) in leftover {
            let connection = WebSocketConnection(id: id, url: url, options: options, handler: handler)
            handler.connection(connection, didCloseWith: stopped)
        }
        freeProtocols()
    }

    /// Takes the queued commands until none is left, which re-arms the wakeup.
    private func drainCommands() {
        while true {
            let commands = wakeup.take().items
            if commands.isEmpty { return }
            for command in commands {
                switch command {
                case .open(let id, let url, let options, let handler):
                    open(WebSocketConnection(id: id, url: url, options: options, handler: handler))
                case .send(let id, let message):
                    connections[id.rawValue]?.send(message)
                case .close(let id, let code, let reason):
                    connections[id.rawValue]?.close(code: code, reason: reason)
                }
            }
        }
    }

    private func open(_ connection: WebSocketConnection) {
        guard let context else { return }
        connections[connection.id.rawValue] = connection
        let url = connection.url
        if url.isSecure {
            let problem =
                hasTLS ? ClientTLSConfiguration.uncheckableHostProblem(url.host) : "the client loop was created without TLS"
            if let problem {
                finish(connection, .connectionFailed(url: url.description, reason: problem))
                return
            }
        }
        let address = strdup(url.host)
        let path = strdup(url.pathAndQuery)
        let host = strdup(url.hostHeader)
        let subprotocol = connection.options.subprotocol.map { strdup($0) } ?? nil
        let alpn = strdup("http/1.1")
        defer {
            free(address)
            free(path)
            free(host)
            free(subprotocol)
            free(alpn)
        }
        var info = lws_client_connect_info()
        info.context = context
        info.address = UnsafePointer(address)
        info.port = Int32(url.port)
        info.path = UnsafePointer(path)
        info.host = UnsafePointer(host)
        info.protocol = UnsafePointer(subprotocol)
        info.local_protocol_name = UnsafePointer(protocolName)
        info.opaque_user_data = UnsafeMutableRawPointer(bitPattern: UInt(connection.id.rawValue))
        if url.isSecure {
            // Certificate and host name checked: none of the LCCSCF_ALLOW_* relaxations.
            info.ssl_connection = Int32(LCCSCF_USE_SSL.rawValue)
            info.alpn = UnsafePointer(alpn)
        }
        if lws_client_connect_via_info(&info) == nil, !connection.isFinished {
            finish(connection, .connectionFailed(url: url.description, reason: "libwebsockets did not start the connection"))
        }
    }

    private func finish(_ connection: WebSocketConnection, _ error: SyncClientError) {
        guard !connection.isFinished else { return }
        connection.isFinished = true
        connection.isOpen = false
        connection.wsi = nil
        connections[connection.id.rawValue] = nil
        logger.debug("WebSocket ended", metadata: ["connection": "\(connection.id)", "error": "\(error)"])
        connection.handler.connection(connection, didCloseWith: error)
    }

    /// Dispatches one lws callback; the return value goes back to lws (non-zero closes the wsi).
    func handle(
        wsi: OpaquePointer, reason: lws_callback_reasons, user: UnsafeMutableRawPointer?,
        input: UnsafeMutableRawPointer?, length: Int
    ) -> Int32 {
        if reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED {
            drainCommands()
            return 0
        }
        guard let tag = lws_get_opaque_user_data(wsi),
            let connection = connections[UInt64(UInt(bitPattern: tag))]
        else { return 0 }
        connection.wsi = wsi

        switch reason {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
            return appendHandshakeHeaders(connection, wsi: wsi, input: input, length: length)

        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            connection.isOpen = true
            connection.handler.connectionDidOpen(connection)
            if connection.queuedMessageCount > 0 || connection.localClose != nil {
                connection.requestWritable()
            }

        case LWS_CALLBACK_CLIENT_RECEIVE:
            return receive(connection, wsi: wsi, input: input, length: length)

        case LWS_CALLBACK_CLIENT_WRITEABLE:
            return write(connection, wsi: wsi)

        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            connection.peerClose = CloseReason.parse(UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length))

        case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
            // Returning 0 keeps OpenSSL's verdict; only its reason is kept for the error.
            if connection.certificateRefusal == nil {
                connection.certificateRefusal = CertificateRefusal.reason(store: user, verdict: length)
            }

        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            let detail = connection.certificateRefusal ?? input.map { Self.errorText($0, length: length) } ?? "unknown error"
            finish(connection, .connectionFailed(url: connection.url.description, reason: detail))

        case LWS_CALLBACK_CLIENT_CLOSED:
            let error: SyncClientError =
                if let failure = connection.failure { failure }
                else if let peer = connection.peerClose { .closed(code: peer.code, reason: peer.reason) }
                else if let local = connection.localClose { .closed(code: local.code, reason: local.reason) }
                else { .closed(code: nil, reason: "") }
            finish(connection, error)

        default:
            break
        }
        return 0
    }

    private func appendHandshakeHeaders(
        _ connection: WebSocketConnection, wsi: OpaquePointer, input: UnsafeMutableRawPointer?, length: Int
    ) -> Int32 {
        guard let token = connection.options.bearerToken, let input else { return 0 }
        let cursor = input.assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self)
        guard let start = cursor.pointee else { return 0 }
        let end = start + length
        let value = Array("Bearer \(token)".utf8)
        let failed = value.withUnsafeBufferPointer { buffer in
            lws_add_http_header_by_token(
                wsi, WSI_TOKEN_HTTP_AUTHORIZATION, buffer.baseAddress, Int32(buffer.count), cursor, end) != 0
        }
        if failed {
            connection.failure = .connectionFailed(
                url: connection.url.description, reason: "the Authorization header does not fit the handshake buffer")
            return -1
        }
        return 0
    }

    private func receive(
        _ connection: WebSocketConnection, wsi: OpaquePointer, input: UnsafeMutableRawPointer?, length: Int
    ) -> Int32 {
        let piece = UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length)
        let (isBinary, isLast) = MessageAssembler.pieceFlags(of: wsi)
        switch connection.assembler.append(piece, isBinary: isBinary, isLast: isLast) {
        case .incomplete:
            break
        case .complete(.text(let message)):
            message.withUnsafeBytes { connection.handler.connection(connection, didReceive: $0, isBinary: false) }
        case .complete(.binary(let message, _)):
            message.withUnsafeBytes { connection.handler.connection(connection, didReceive: $0, isBinary: true) }
        case .tooBig:
            let limit = connection.options.maximumMessageSize
            connection.failure = .protocolViolation("a message from the server exceeds \(limit) bytes")
            CloseReason.set(on: wsi, code: UInt16(LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE.rawValue), reason: "message too big")
            return -1
        }
        return 0
    }

    /// One `lws_write` per WRITEABLE callback, then re-arm while more is queued.
    private func write(_ connection: WebSocketConnection, wsi: OpaquePointer) -> Int32 {
        connection.writableRequested = false
        guard let message = connection.popOutbound() else {
            guard let close = connection.localClose else { return 0 }
            CloseReason.set(on: wsi, code: close.code, reason: close.reason)
            return -1
        }
        let written = connection.writeBuffer.write(message, to: wsi, as: LWS_WRITE_TEXT)
        if written < 0 {
            connection.failure = .closed(code: nil, reason: "writing to the socket failed")
            return -1
        }
        if connection.queuedMessageCount > 0 || connection.localClose != nil {
            connection.requestWritable()
        }
        return 0
    }

    private static func errorText(_ input: UnsafeMutableRawPointer, length: Int) -> String {
        let text = input.assumingMemoryBound(to: CChar.self)
        let count = length > 0 ? min(length, strnlen(text, length)) : strlen(text)
        return String(decoding: UnsafeRawBufferPointer(start: input, count: count), as: UTF8.self)
    }
}

/// The protocol callback of every client connection: finds the loop through the context's user
/// pointer and hands over. A top-level function so that it converts to a C function pointer.
func syncClientProtocolCallback(
    wsi: OpaquePointer?, reason: lws_callback_reasons, user: UnsafeMutableRawPointer?,
    input: UnsafeMutableRawPointer?, length: Int
) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let core = lws_context_user(context) else { return 0 }
    return Unmanaged<ClientLoopCore>.fromOpaque(core).takeUnretainedValue()
        .handle(wsi: wsi, reason: reason, user: user, input: input, length: length)
}
