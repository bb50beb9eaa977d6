import CLibWebsockets
import LibWebsocketsSupport
import Logging
import SyncAPI
import SyncEngine

/// WebSocket sessions on the service thread: admission, reassembly, writes and closes.
extension ServerLoop {
    /// Decides on an upgrade before lws answers it. A refusal is an HTTP error status.
    func filterUpgrade(_ wsi: OpaquePointer, perSessionData: UnsafeMutableRawPointer?) -> Int32 {
        let headers = RequestHeaders(wsi: wsi)
        let path = headers.value(WSI_TOKEN_GET_URI) ?? ""
        if stopping {
            return refuse(wsi, status: 503, "server shutting down")
        }
        if let refusal = headers.targetRefusal() {
            return refuse(wsi, status: 400, refusal.description)
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
        let access: DocumentAccess
        switch accessPolicy.check(presented: presented, now: WallClock.seconds()) {
        case .success(let granted): access = granted
        case .failure(let refusal):
            // Never log the presented token; the client is not told what was wrong with it.
            logger.notice(
                "refused upgrade: missing or wrong token",
                metadata: ["client": "\(clientAddress)", "reason": "\(refusal.reason)"])
            return refuse(wsi, status: 401, "missing or wrong token")
        }
        guard let role = access.role(on: document) else {
            logger.notice(
                "refused upgrade: the token may not read the document",
                metadata: ["client": "\(clientAddress)", "document": "\(document)", "user": "\(access.author ?? "")"])
            return refuse(wsi, status: 403, "this token may not read document '\(document)'")
        }

        if let since, let refusal = engine.resumeRefusal(forResuming: document, since: since) {
            return refuse(wsi, status: 400, refusal)
        }
        if let refusal = engine.refusal(forConnectingTo: document) {
            logger.warning("refused upgrade", metadata: ["client": "\(clientAddress)", "reason": "\(refusal)"])
            return refuse(wsi, status: 503, refusal.description)
        }
        guard let perSessionData else { return refuse(wsi, status: 500, "no session storage") }
        let ticket = WebSocketSession.Ticket(
            document: document, since: since, client: client, role: role, clientAddress: clientAddress,
            author: access.author, expiresAt: access.expiresAt)
        var machine = SessionStateMachine(configuration: sessionConfiguration)
        if let refusal = connectionLimitRefusal(for: clientAddress) {
            machine = SessionStateMachine(
                configuration: sessionConfiguration, refusedWith: .init(code: .policyViolation, reason: refusal))
        }
        let session = WebSocketSession(wsi: wsi, ticket: ticket, outbox: WebSocketOutbox(machine: machine, wakeup: wakeup))
        perSessionData.storeBytes(of: Unmanaged.passRetained(session).toOpaque(), as: UnsafeMutableRawPointer?.self)
        return 0
    }

    private var sessionConfiguration: SessionStateMachine.Configuration {
        let limits = configuration.limits
        return SessionStateMachine.Configuration(
            maximumMessageBytes: configuration.maximumMessageBytes,
            queueLimitBytes: configuration.outboundQueueLimitBytes,
            rate: limits.messagesPerSecond > 0 ? (limits.messagesPerSecond, limits.messageBurst) : nil,
            refusalsBeforeClose: limits.refusalsBeforeClose,
            coalescesPatches: configuration.coalescePatches)
    }

    /// The session an upgrade stored in the connection's per-session data, if any.
    static func session(in perSessionData: UnsafeMutableRawPointer?) -> WebSocketSession? {
        guard let pointer = perSessionData?.load(as: UnsafeMutableRawPointer?.self) else { return nil }
        return Unmanaged<WebSocketSession>.fromOpaque(pointer).takeUnretainedValue()
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
        _ = writeBuffer.write(Array(response.utf8), to: wsi, as: LWS_WRITE_HTTP_FINAL)
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

    func openSession(_ wsi: OpaquePointer, perSessionData: UnsafeMutableRawPointer?) -> Int32 {
        guard let session = Self.session(in: perSessionData) else { return -1 }
        sessions[ObjectIdentifier(session.outbox)] = session
        let refusal = session.outbox.withMachine { $0.start() }
        if case .beginClose = refusal {
            perform(refusal, for: session)
            return 0
        }
        let ticket = session.ticket
        if configuration.compression {
            session.compresses = limitCompressionMemory(wsi)
        }
        admittedConnections += 1
        counters.sessionOpened()
        connectionsPerAddress[ticket.clientAddress, default: 0] += 1
        session.id = engine.connect(
            document: ticket.document, since: ticket.since, role: ticket.role, client: ticket.client,
            author: ticket.author, output: session.outbox)
        var opened: Logger.Metadata = ["role": "\(ticket.role)"]
        if let author = ticket.author { opened["user"] = "\(author)" }
        logger.info("session opened", metadata: metadata(session, opened))
        armExpiry(of: session)
        return 0
    }

    /// The longest lws timer set at once; a later expiry re-arms when it fires.
    private static let longestTimerSeconds: Int64 = 3600

    /// Closes the session with 1008 "token expired" once its token's `exp` has passed on this
    /// server's clock (no skew here: the skew only helps a token that was just issued or renewed).
    private func armExpiry(of session: WebSocketSession) {
        guard let expiresAt = session.ticket.expiresAt else { return }
        let remainingMicroseconds = (expiresAt * 1000 - WallClock.milliseconds()) * 1000
        lws_set_timer_usecs(session.wsi, max(1, min(remainingMicroseconds, Self.longestTimerSeconds * 1_000_000)))
    }

    /// The session's timer fired: its token expired, or it is time to re-arm a long expiry.
    func sessionTimer(_ session: WebSocketSession) {
        guard let expiresAt = session.ticket.expiresAt else { return }
        if WallClock.milliseconds() >= expiresAt * 1000 {
            logger.notice("closing session: its token expired", metadata: metadata(session))
            session.outbox.close(.policyViolation, reason: "token expired")
        } else {
            armExpiry(of: session)
        }
    }

    /// zlib's default memLevel 8 makes each compressing session cost about 90 KiB once
    /// its first message is sent. A lower memLevel shrinks the hash tables, not the
    /// window, so nothing changes for the client. (The window cannot shrink: lws 4.1.6
    /// uses the server's window bits for inflating the client's messages too.)
    ///
    /// Without context takeover on our side, lws 4.1.6 ends the compressor after each
    /// message (its tx side reads the `client_no_context_takeover` slot), so an idle session
    /// keeps no zlib state: 3.4 KiB per idle compressed connection instead of about 20 KiB.
    /// Set locally only: the client is not told and need not be, as a fresh compressor emits a
    /// stream its inflater reads like any other; messages just cannot refer back to earlier
    /// ones. That is also what lets the bridge compress a message once for every session
    /// (`CompressedSmallMessages`, `CompressedMessageCache`); lws compresses only what zlib failed on.
    ///
    /// Returns whether the connection compresses (lws refuses the options otherwise).
    private func limitCompressionMemory(_ wsi: OpaquePointer) -> Bool {
        guard lws_set_extension_option(wsi, "permessage-deflate", "mem_level", "3") == 0 else { return false }
        _ = lws_set_extension_option(wsi, "permessage-deflate", "client_no_context_takeover", "1")
        return true
    }

    func receive(_ session: WebSocketSession, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        let (isBinary, isLast) = MessageAssembler.pieceFlags(of: session.wsi)
        let action = session.outbox.withMachine { $0.receive(bytes, isBinary: isBinary, isLast: isLast) }
        guard let id = session.id else { return 0 }
        switch action {
        case .none:
            break
        case .deliver(let message):
            engine.receive(message, from: id)
        case .refuse(let message, let code, let text, let close):
            // Through the document's queue: the Error keeps its place among the replies to the
            // messages before it, and a close follows them.
            engine.refuse(
                message, from: id, MessageRefusal(code: code, message: text, close: close.map { ($0.code, $0.reason) }))
        case .beginClose(let frame):
            // Not `return -1`: with permessage-deflate lws 4.1.6 drops that result while inflating.
            beginClose(session, frame)
        }
        return 0
    }

    func writeSession(_ session: WebSocketSession) -> Int32 {
        // lws calls WRITEABLE only once the previous write is wholly taken.
        session.inFlight = nil
        if session.fragmented != nil {
            return writeFragment(of: session)
        }
        switch session.outbox.withMachine({ $0.writable() }) {
        case .none:
            return 0
        case .write(let first, let following, let more):
            let message = following.isEmpty ? first : coalescedPatches.coalesce([first] + following)
            if session.compresses, message.count <= fragmentSchedule.configuration.compressionBytes {
                // Compressed once for every session it goes to; lws would compress it again for
                // each. Should zlib fail, lws compresses it.
                if let body = compressedSmallMessages.body(of: message) {
                    let header = ServerFrameHeader.bytes(first: true, last: true, compressed: true, length: body.count)
                    // LWS_WRITE_HTTP is lws's LWS_WRITE_RAW: the bytes go out as they are.
                    guard writeBuffer.write(body, after: header, to: session.wsi, as: LWS_WRITE_HTTP) >= 0 else {
                        return -1
                    }
                } else {
                    guard writeWhole(message, to: session) >= 0 else { return -1 }
                }
            } else if let fragmented = fragmentedIfLarge(message, for: session) {
                session.fragmented = fragmented
                return writeFragment(of: session)
            } else {
                guard writeWhole(message, to: session) >= 0 else { return -1 }
            }
            if more {
                lws_callback_on_writable(session.wsi)
            }
            return 0
        case .close(let frame):
            CloseReason.set(on: session.wsi, code: frame.code.rawValue, reason: frame.reason)
            return -1
        }
    }

    /// `message` in one frame lws makes (and compresses, on a permessage-deflate session). The
    /// payload is shared with every other session it goes to: no copy. lws writes the frame
    /// header into the headroom in front of it, which is the same for every session.
    private func writeWhole(_ message: OutboundMessage, to session: WebSocketSession) -> Int32 {
        session.inFlight = message
        let frame = message.framePayload
        return lws_write(session.wsi, frame.start, frame.count, LWS_WRITE_TEXT)
    }

    /// `message` as the fragments `session` gets it in, or nil if it goes out in one write.
    ///
    /// On a permessage-deflate connection a message over a few KiB is compressed once for every
    /// session (zlib took 8 ms of the service thread per session for a 600 KB Full). lws 4.1.6
    /// compresses with a 32 KiB window whatever the client's offer says (it applies no
    /// `server_max_window_bits`), so the shared bytes are what lws would send. Should zlib fail,
    /// lws compresses the message itself, whole.
    private func fragmentedIfLarge(_ message: OutboundMessage, for session: WebSocketSession) -> FragmentedMessage? {
        let limits = fragmentSchedule.configuration
        if session.compresses {
            // Up to `compressionBytes` it went out in one frame (`CompressedSmallMessages`).
            guard let compressed = compressedMessages.compressed(message) else { return nil }
            return FragmentedMessage(.compressed(compressed), fragmentBytes: limits.fragmentBytes)
        }
        guard message.count > limits.fragmentBytes else { return nil }
        return FragmentedMessage(.payload(message), fragmentBytes: limits.fragmentBytes)
    }

    /// Writes the next fragment of `session.fragmented` if the session's turn has come.
    private func writeFragment(of session: WebSocketSession) -> Int32 {
        guard fragmentSchedule.mayWrite(session), var fragmented = session.fragmented else { return 0 }
        guard fragmented.writeNext(to: session.wsi, through: &writeBuffer) >= 0 else { return -1 }
        if fragmented.isComplete {
            session.fragmented = nil
            lws_callback_on_writable(session.wsi)  // for what was queued meanwhile
        } else {
            session.fragmented = fragmented
            fragmentSchedule.continueMessage(session)
        }
        return 0
    }

    /// The connection closed: the engine forgets the session.
    func closeSession(_ session: WebSocketSession) {
        guard sessions.removeValue(forKey: ObjectIdentifier(session.outbox)) != nil else { return }
        fragmentSchedule.remove(session)
        if stopping && sessions.isEmpty && !destroyingContext {
            // The last session of a shutdown: lws_service would otherwise sleep in poll until its
            // next timer (up to 30 s after a close timeout) before the loop sees it may finish.
            lws_cancel_service(lws_get_context(session.wsi))
        }
        session.outbox.withMachine { $0.connectionClosed() }
        guard let id = session.id else { return }
        engine.disconnect(id)
        admittedConnections -= 1
        counters.sessionClosed()
        let address = session.ticket.clientAddress
        let remaining = connectionsPerAddress[address, default: 1] - 1
        connectionsPerAddress[address] = remaining > 0 ? remaining : nil
        logger.info("session closed", metadata: metadata(session))
    }

    /// lws frees the connection: release the session its per-session data holds.
    func releaseSession(in perSessionData: UnsafeMutableRawPointer?) {
        guard let perSessionData, let pointer = perSessionData.load(as: UnsafeMutableRawPointer?.self) else { return }
        perSessionData.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
        let session = Unmanaged<WebSocketSession>.fromOpaque(pointer).takeRetainedValue()
        closeSession(session)
    }
}
