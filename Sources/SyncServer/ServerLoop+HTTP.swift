import CLibWebsockets
import LibWebsocketsSupport
import SyncAPI
import SyncEngine
import WebAssets

/// Plain HTTP on the service thread: the embedded page, `/healthz`, and the requests
/// handed to the `HTTPHandler` (`/api/...`, `/metrics`), whose answers come back later.
extension ServerLoop {
    private static let chunkSize = 16 * 1024
    private static let plainText = "text/plain; charset=utf-8"

    func handleHTTPRequest(_ wsi: OpaquePointer, path: String) -> Int32 {
        if stopping {
            return respond(wsi, status: 503, contentType: Self.plainText, body: Array("shutting down\n".utf8))
        }
        let method = Self.method(of: wsi)
        if let refusal = RequestHeaders(wsi: wsi).targetRefusal() {
            if Self.isHandlerPath(path) {
                return respondWithAPIError(wsi, APIError(status: 400, code: "invalid_request", refusal.description))
            }
            // The page reads its own query (`?doc=line-3&display`): only its request line must be whole.
            if case .malformedRequestLine = refusal {
                return respond(wsi, status: 400, contentType: Self.plainText, body: Array("\(refusal)\n".utf8))
            }
        }
        if httpHandler != nil, Self.isHandlerPath(path) {
            return startHandlerRequest(wsi, method: method, path: path)
        }
        guard method == .get else {
            return respond(wsi, status: 405, contentType: Self.plainText, body: Array("only GET is supported here\n".utf8))
        }
        if path == "/healthz" {
            if let reason = engine.unavailableReason {
                return respond(wsi, status: 503, contentType: Self.plainText, body: Array("unavailable: \(reason)\n".utf8))
            }
            return respond(wsi, status: 200, contentType: Self.plainText, body: Array("ok".utf8))
        }
        if let file = WebAssets.file(forPath: path) {
            return respond(
                wsi, status: 200, contentType: file.contentType, body: file.bytes, headers: WebAssets.securityHeaders)
        }
        if case .success = WebSocketRoute.document(forPath: path) {
            return respond(
                wsi, status: 426, contentType: Self.plainText, body: Array("this path takes WebSocket connections\n".utf8))
        }
        return respond(wsi, status: 404, contentType: Self.plainText, body: Array("not found\n".utf8))
    }

    private static func isHandlerPath(_ path: String) -> Bool {
        path == "/metrics" || path == "/api" || path.hasPrefix("/api/")
    }

    private static func method(of wsi: OpaquePointer) -> HTTPMethod {
        let methods: [(lws_token_indexes, String)] = [
            (WSI_TOKEN_GET_URI, "GET"), (WSI_TOKEN_POST_URI, "POST"), (WSI_TOKEN_PUT_URI, "PUT"),
            (WSI_TOKEN_DELETE_URI, "DELETE"), (WSI_TOKEN_PATCH_URI, "PATCH"), (WSI_TOKEN_OPTIONS_URI, "OPTIONS"),
            (WSI_TOKEN_HEAD_URI, "HEAD"),
        ]
        for (token, name) in methods where lws_hdr_total_length(wsi, token) > 0 {
            return HTTPMethod(rawValue: name)
        }
        return HTTPMethod(rawValue: "UNKNOWN")
    }

    // MARK: Requests for the HTTP handler

    /// Checks the origin and credentials, then waits for the body (POST) or hands the request
    /// over at once.
    private func startHandlerRequest(_ wsi: OpaquePointer, method: HTTPMethod, path: String) -> Int32 {
        let headers = RequestHeaders(wsi: wsi)
        let changesState = method != .get && method != .head
        // A page on another origin can send a POST without asking (no-cors); it cannot read the
        // answer, but the change would be made. Same rule as the WebSocket upgrade.
        if changesState {
            let origin = headers.value(WSI_TOKEN_ORIGIN)
            guard originPolicy.allows(origin: origin, host: headers.value(WSI_TOKEN_HOST)) else {
                logger.notice(
                    "refused request: origin not allowed",
                    metadata: ["method": "\(method)", "path": "\(path)", "origin": "\(origin ?? "")"])
                return respondWithAPIError(
                    wsi, APIError(status: 403, code: "origin_not_allowed", "requests from origin \(origin ?? "") are not allowed"))
            }
        }
        let arguments = headers.queryArguments()
        let presented =
            AccessPolicy.bearerToken(fromAuthorization: headers.value(WSI_TOKEN_HTTP_AUTHORIZATION))
            ?? arguments.first(where: { $0.name == "token" })?.value
        guard let access = accessPolicy.access(presented: presented, now: WallClock.seconds()) else {
            return respondWithAPIError(wsi, APIError(status: 401, code: "unauthorized", "missing or wrong token"))
        }
        if !access.mayWriteAnything && method != .get {
            return respondWithAPIError(
                wsi, APIError(status: 403, code: SyncErrorCode.forbidden.rawValue, "the read-only token cannot change anything"))
        }
        let request = HTTPRequest(
            method: method, path: path,
            // The token is a credential, not an argument for the handler.
            query: arguments.filter { $0.name != "token" }.map { HTTPRequest.QueryItem(name: $0.name, value: $0.value) },
            access: access)
        if changesState, !JSONMediaType.matches(headers.value(WSI_TOKEN_HTTP_CONTENT_TYPE)) {
            return respondWithAPIError(
                wsi,
                APIError(
                    status: 415, code: "unsupported_media_type",
                    "send the body as JSON with Content-Type: application/json"))
        }
        if method == .post {
            // lws 4.1.6 never completes a chunked request body: the request would hang.
            if headers.value(WSI_TOKEN_HTTP_TRANSFER_ENCODING) != nil {
                return respondWithAPIError(
                    wsi, APIError(status: 411, code: "length_required", "send the body with a Content-Length"))
            }
            let declared: Int
            switch ContentLength.parse(headers.value(WSI_TOKEN_HTTP_CONTENT_LENGTH)) {
            case .success(let length): declared = length ?? 0
            case .failure(let failure):
                return respondWithAPIError(
                    wsi, APIError(status: 400, code: "invalid_content_length", "Content-Length: \(failure)"))
            }
            // Without a Content-Length (or with 0) there is no body, and lws reports none.
            if declared > 0 {
                exchanges[Self.key(wsi)] = HTTPExchange(
                    id: nextID(), wsi: wsi, phase: .receivingBody(request, tooLarge: false))
                return 0
            }
        }
        dispatch(wsi, request)
        return 0
    }

    private func nextID() -> HTTPExchange.ID {
        nextExchangeID += 1
        return HTTPExchange.ID(rawValue: nextExchangeID)
    }

    func receiveRequestBody(_ wsi: OpaquePointer, _ bytes: UnsafeRawBufferPointer) {
        guard let exchange = exchanges[Self.key(wsi)], case .receivingBody(var request, false) = exchange.phase else {
            return
        }
        if request.body.count + bytes.count > configuration.maximumMessageBytes {
            exchange.phase = .receivingBody(HTTPRequest(method: request.method, path: request.path), tooLarge: true)
        } else {
            exchange.phase = .awaitingHandler  // drops the request's reference before the append
            request.body.append(contentsOf: bytes)
            exchange.phase = .receivingBody(request, tooLarge: false)
        }
    }

    func requestBodyComplete(_ wsi: OpaquePointer) -> Int32 {
        guard let exchange = exchanges[Self.key(wsi)], case .receivingBody(let request, let tooLarge) = exchange.phase
        else { return 0 }
        if tooLarge {
            return respondWithAPIError(
                wsi,
                APIError(
                    status: 413, code: "body_too_large",
                    "request body larger than \(configuration.maximumMessageBytes) bytes"))
        }
        dispatch(wsi, request)
        return 0
    }

    /// Runs the handler in a task; its response returns through the wakeup.
    private func dispatch(_ wsi: OpaquePointer, _ request: HTTPRequest) {
        guard let handler = httpHandler else { return }
        let exchange = exchanges[Self.key(wsi)] ?? HTTPExchange(id: nextID(), wsi: wsi, phase: .awaitingHandler)
        exchange.phase = .awaitingHandler
        exchanges[Self.key(wsi)] = exchange
        awaitingHandler[exchange.id] = exchange
        let id = exchange.id
        let wakeup = self.wakeup
        Task.detached {
            let response = await handler.handle(request)
            wakeup.deliver(HTTPCompletion(exchange: id, response: response))
        }
    }

    /// A handler's response, on the service thread; dropped if its connection has gone.
    func deliver(_ completion: HTTPCompletion) {
        guard let exchange = awaitingHandler.removeValue(forKey: completion.exchange) else { return }
        let response = completion.response
        exchange.phase = .responding(
            head: (UInt32(clamping: response.status), response.contentType), body: response.body, offset: 0)
        lws_callback_on_writable(exchange.wsi)
    }

    private func respondWithAPIError(_ wsi: OpaquePointer, _ error: APIError) -> Int32 {
        let response = error.response
        return respond(wsi, status: UInt32(clamping: response.status), contentType: response.contentType, body: response.body)
    }

    // MARK: Writing responses

    /// Writes the status line and headers now and the body in HTTP_WRITEABLE callbacks.
    func respond(
        _ wsi: OpaquePointer, status: UInt32, contentType: String, body: [UInt8], headers: [WebAssets.Header] = []
    ) -> Int32 {
        guard writeHead(wsi, status: status, contentType: contentType, contentLength: body.count, headers: headers)
        else { return -1 }
        if body.isEmpty {
            return completeTransaction(wsi)
        }
        let exchange = exchanges[Self.key(wsi)] ?? HTTPExchange(id: nextID(), wsi: wsi, phase: .awaitingHandler)
        exchange.phase = .responding(head: nil, body: body, offset: 0)
        exchanges[Self.key(wsi)] = exchange
        lws_callback_on_writable(wsi)
        return 0
    }

    /// The response is written: the connection may carry the next request.
    private func completeTransaction(_ wsi: OpaquePointer) -> Int32 {
        forgetHTTP(wsi)
        return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
    }

    private func writeHead(
        _ wsi: OpaquePointer, status: UInt32, contentType: String, contentLength: Int, headers: [WebAssets.Header] = []
    ) -> Bool {
        let pre = Int(cpatchsync_lws_pre())
        var header = [UInt8](repeating: 0, count: pre + 1024)
        return header.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            let start = base + pre
            let end = base + buffer.count
            var cursor: UnsafeMutablePointer<UInt8>? = start
            if lws_add_http_common_headers(wsi, status, contentType, UInt64(contentLength), &cursor, end) != 0 {
                return false
            }
            let noCache = "no-cache"
            if lws_add_http_header_by_token(
                wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, noCache, Int32(noCache.utf8.count), &cursor, end) != 0
            {
                return false
            }
            for header in headers {
                // lws wants the name with its colon.
                if lws_add_http_header_by_name(
                    wsi, header.name + ":", header.value, Int32(header.value.utf8.count), &cursor, end) != 0
                {
                    return false
                }
            }
            return lws_finalize_write_http_header(wsi, start, &cursor, end) == 0
        }
    }

    func writeHTTPBody(_ wsi: OpaquePointer) -> Int32 {
        guard let exchange = exchanges[Self.key(wsi)], case .responding(let head, let body, let offset) = exchange.phase
        else { return 0 }
        if let head {
            guard writeHead(wsi, status: head.status, contentType: head.contentType, contentLength: body.count) else {
                return -1
            }
            if body.isEmpty {
                return completeTransaction(wsi)
            }
            exchange.phase = .responding(head: nil, body: body, offset: 0)
            lws_callback_on_writable(wsi)
            return 0
        }
        let count = min(Self.chunkSize, body.count - offset)
        let isLast = offset + count == body.count
        let result = writeBuffer.write(body[offset..<(offset + count)], to: wsi, as: isLast ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP)
        guard result >= 0 else { return -1 }
        if isLast {
            return completeTransaction(wsi)
        }
        exchange.phase = .responding(head: nil, body: body, offset: offset + count)
        lws_callback_on_writable(wsi)
        return 0
    }

    /// The connection's request is over (answered, or the connection closed).
    func forgetHTTP(_ wsi: OpaquePointer) {
        guard let exchange = exchanges.removeValue(forKey: Self.key(wsi)) else { return }
        awaitingHandler[exchange.id] = nil
    }
}
