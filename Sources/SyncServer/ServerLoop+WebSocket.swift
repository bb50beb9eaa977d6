import CLibWebsockets
import JSONCodec
import JSONPatch
import SyncEngine

/// WebSocket sessions on the service thread: admission, reassembly, writes and closes.
extension ServerLoop {
    /// Decides on an upgrade before lws answers it. A refusal is an HTTP error status.
    func filterUpgrade(_ wsi: OpaquePointer) -> Int32 {
        let headers = RequestHeaders(wsi: wsi)
        let path = headers.value(WSI_TOKEN_GET_URI) ?? ""
        if stopping {
            return refuse(wsi, status: 503, "server shutting down")
        }
        let document: DocumentName
        switch WebSocketRoute.document(forPath: path) {
        case .success(let name): document = name
        case .failure(.invalidDocumentName(let name)):
            return refuse(wsi, status: 400, "invalid document name '\(name)': use 1 to 64 letters, digits, - or _")
        case .failure:
            return refuse(wsi, status: 404, "no WebSocket endpoint at \(path)")
        }
        let since: UInt64?
        switch WebSocketRoute.since(headers.queryArgument("since")) {
        case .success(let version): since = version
        case .failure:
            return refuse(wsi, status: 400, "since must be a non-negative integer version")
        }
        let client: ClientID?
        switch WebSocketRoute.client(headers.queryArgument("client")) {
        case .success(let id): client = id
        case .failure:
            return refuse(wsi, status: 400, "client must be 1 to 64 letters, digits, - or _")
        }

        let peer = headers.peerAddress()
        let clientAddress = ClientAddress.resolve(
            peer: peer, peerIsTrusted: peerIsTrusted(peer), forwardedFor: headers.value(WSI_TOKEN_X_FORWARDED_FOR),
            isTrustedProxy: isTrustedProxy)

        let origin = headers.value(WSI_TOKEN_ORIGIN)
        guard originPolicy.allows(origin: origin, host: headers.value(WSI_TOKEN_HOST)) else {
            logger.notice("refused upgrade: origin not allowed", metadata: ["client": "\(clientAddress)", "origin": "\(origin ?? "")"])
            return refuse(wsi, status: 403, "origin not allowed")
        }
        let presented =
            AccessPolicy.bearerToken(fromAuthorization: headers.value(WSI_TOKEN_HTTP_AUTHORIZATION))
            ?? headers.queryArgument("token")
        guard let role = accessPolicy.role(presented: presented) else {
            // Never log the presented token.
            logger.notice("refused upgrade: missing or wrong token", metadata: ["client": "\(clientAddress)"])
            return refuse(wsi, status: 401, "missing or wrong token")
        }

        if let refusal = service.refusal(forConnectingTo: document) {
            logger.warning("refused upgrade", metadata: ["client": "\(clientAddress)", "reason": "\(refusal)"])
            return refuse(wsi, status: 503, refusal.description)
        }
        upgrades[Self.key(wsi)] = UpgradeTicket(
            document: document, since: since, client: client, role: role, clientAddress: clientAddress,
            refusal: connectionLimitRefusal(for: clientAddress))
        return 0
    }

    /// Only a proxy on the same box can reach a Unix socket.
    private func peerIsTrusted(_ peer: String) -> Bool {
        if case .unix = configuration.listener { return true }
        return isTrustedProxy(peer)
    }

    private func isTrustedProxy(_ address: String) -> Bool {
        let plain = address.hasPrefix("::ffff:") ? String(address.dropFirst(7)) : address
        return configuration.trustedProxies.contains(plain) || configuration.trustedProxies.contains(address)
    }

    private func connectionLimitRefusal(for clientAddress: String) -> String? {
        let limits = configuration.limits
        if limits.maximumConnections > 0 && admittedConnections >= limits.maximumConnections {
            return "too many connections (limit \(limits.maximumConnections))"
        }
        if limits.maximumConnectionsPerAddress > 0,
            connectionsPerAddress[clientAddress, default: 0] >= limits.maximumConnectionsPerAddress
        {
            return "too many connections from \(clientAddress) (limit \(limits.maximumConnectionsPerAddress))"
        }
        return nil
    }

    private func refuse(_ wsi: OpaquePointer, status: UInt32, _ message: String) -> Int32 {
        logger.debug("refused upgrade", metadata: ["status": "\(status)", "reason": "\(message)"])
        // Written by hand: lws_return_http_status answers an upgrade request with an
        // HTTP/1.0 status line, which WebSocket clients reject as malformed.
        let body = message + "\n"
        let response =
            "HTTP/1.1 \(status) \(Self.reasonPhrase(status))\r\ncontent-type: text/plain; charset=utf-8\r\n"
            + "content-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n" + body
        _ = write(wsi, Array(response.utf8)[...], as: LWS_WRITE_HTTP_FINAL)
        return -1
    }

    private static func reasonPhrase(_ status: UInt32) -> String {
        switch status {
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 503: return "Service Unavailable"
        default: return "Error"
        }
    }

    func openSession(_ wsi: OpaquePointer) -> Int32 {
        let key = Self.key(wsi)
        guard let ticket = upgrades.removeValue(forKey: key) else { return -1 }
        let outbox = SessionOutbox(
            connectionKey: key, queueLimitBytes: configuration.outboundQueueLimitBytes, wakeup: wakeup)
        let session = Session(
            wsi: wsi, outbox: outbox, ticket: ticket,
            assembler: MessageAssembler(limit: configuration.maximumMessageBytes))
        sessions[key] = session
        if let refusal = ticket.refusal {
            logger.warning("refused session", metadata: metadata(session, ["reason": "\(refusal)"]))
            session.closing = true
            outbox.close(.policyViolation, reason: refusal)
            return 0
        }
        if configuration.limits.messagesPerSecond > 0 {
            session.rateLimiter = MessageRateLimiter(
                rate: configuration.limits.messagesPerSecond, burst: configuration.limits.messageBurst)
        }
        if configuration.compression {
            limitCompressionMemory(wsi)
        }
        admittedConnections += 1
        counters.sessionOpened()
        connectionsPerAddress[ticket.clientAddress, default: 0] += 1
        session.id = service.connect(
            document: ticket.document, since: ticket.since, role: ticket.role, client: ticket.client, output: outbox)
        logger.info("session opened", metadata: metadata(session, ["role": "\(ticket.role)"]))
        return 0
    }

    /// zlib's default memLevel 8 makes each compressing session cost about 90 KiB once
    /// its first message is sent. A lower memLevel shrinks the hash tables, not the
    /// window, so nothing changes for the client. (The window cannot shrink: lws 4.1.6
    /// uses the server's window bits for inflating the client's messages too.)
    ///
    /// Without context takeover on our side, lws 4.1.6 ends the compressor after each
    /// message (its tx side reads the `client_no_context_takeover` slot), so an idle session
    /// keeps no zlib state: 4.4 KiB per idle compressed connection instead of about 20 KiB,
    /// for about 5 µs more CPU per compressed message. Set locally only: the client is not
    /// told and need not be, as a fresh compressor emits a stream its inflater reads like
    /// any other; messages just cannot refer back to earlier ones.
    private func limitCompressionMemory(_ wsi: OpaquePointer) {
        _ = lws_set_extension_option(wsi, "permessage-deflate", "mem_level", "3")
        _ = lws_set_extension_option(wsi, "permessage-deflate", "client_no_context_takeover", "1")
    }

    func receive(_ wsi: OpaquePointer, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard let session = sessions[Self.key(wsi)] else { return -1 }
        let isLast = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
        let outcome = session.assembler.append(bytes, isBinary: lws_frame_is_binary(wsi) != 0, isLast: isLast)
        guard let id = session.id, !session.closing else { return 0 }
        switch outcome {
        case .incomplete:
            return 0
        case .tooBig:
            let limit = configuration.maximumMessageBytes
            logger.warning("message too big", metadata: metadata(session, ["limit": "\(limit)"]))
            // Not `return -1`: with permessage-deflate lws 4.1.6 drops that result while inflating.
            closeNow(session, code: .messageTooBig, reason: "message larger than \(limit) bytes")
            return 0
        case .complete(let message):
            if var limiter = session.rateLimiter {
                let admitted = limiter.admit()
                session.rateLimiter = limiter
                guard admitted else {
                    refuseOverRate(session, message)
                    return 0
                }
                session.refusedInARow = 0
            }
            service.receive(message, from: id)
            return 0
        }
    }

    /// Over the rate: an Error for each message, then 1008 once the client keeps pushing.
    private func refuseOverRate(_ session: Session, _ message: IncomingMessage) {
        session.refusedInARow += 1
        counters.messageRateLimited()
        let rate = configuration.limits.messagesPerSecond
        session.outbox.send(
            ServerMessage.error(
                id: Self.messageID(message), code: .rateLimited,
                message: "more than \(rate) messages per second; message ignored"))
        if session.refusedInARow >= configuration.limits.refusalsBeforeClose {
            logger.warning("closing session over the message rate", metadata: metadata(session))
            session.closing = true
            // Replies to the messages admitted just before are still with the engine:
            // close a little later so they go out ahead of the close frame.
            lws_set_timer_usecs(session.wsi, Self.rateLimitCloseDelayMicroseconds)
        }
    }

    static let rateLimitCloseDelayMicroseconds: lws_usec_t = 500_000

    /// The delayed close of a session over the message rate.
    func rateLimitTimerFired(_ wsi: OpaquePointer) {
        sessions[Self.key(wsi)]?.outbox.close(.policyViolation, reason: "message rate limit exceeded")
    }

    /// The `id` of a refused message, so the client can match the Error to its action.
    private static func messageID(_ message: IncomingMessage) -> JSONValue? {
        guard case .text(let bytes) = message,
            case .object(let object)? = try? JSONCodec.decode(bytes)
        else { return nil }
        switch object["id"] {
        case .string?, .integer?, .real?: return object["id"]
        default: return nil
        }
    }

    func writeSession(_ wsi: OpaquePointer) -> Int32 {
        guard let session = sessions[Self.key(wsi)] else { return 0 }
        // lws calls WRITEABLE only once the previous message is wholly taken.
        session.inFlight = nil
        if let close = session.pendingClose {
            setCloseReason(wsi, code: close.code, reason: close.reason)
            return -1
        }
        switch session.outbox.nextWriteStep() {
        case .idle:
            return 0
        case .write(let message, let more):
            // The payload is shared with every other session it goes to: no copy. lws writes the
            // frame header into the headroom in front of it, which is the same for every session.
            session.inFlight = message
            let frame = message.framePayload
            guard lws_write(wsi, frame.start, frame.count, LWS_WRITE_TEXT) >= 0 else { return -1 }
            if more {
                lws_callback_on_writable(wsi)
            }
            return 0
        case .close(let code, let reason):
            session.closing = true
            setCloseReason(wsi, code: code, reason: reason)
            return -1
        }
    }

    func closeSession(_ wsi: OpaquePointer) {
        guard let session = sessions.removeValue(forKey: Self.key(wsi)) else { return }
        session.outbox.discard()
        guard let id = session.id else { return }
        service.disconnect(id)
        admittedConnections -= 1
        counters.sessionClosed()
        let address = session.ticket.clientAddress
        let remaining = connectionsPerAddress[address, default: 1] - 1
        connectionsPerAddress[address] = remaining > 0 ? remaining : nil
        logger.info("session closed", metadata: metadata(session))
    }

    /// The connection is being freed: drop anything still keyed by its pointer.
    func forget(_ wsi: OpaquePointer) {
        closeSession(wsi)
        let key = Self.key(wsi)
        upgrades[key] = nil
        bodies[key] = nil
        requestBodies[key] = nil
        awaitingHandler[key] = nil
    }
}
