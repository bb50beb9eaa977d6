import CLibWebsockets
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
        if httpHandler != nil, Self.isHandlerPath(path) {
            return startHandlerRequest(wsi, method: method, path: path)
        }
        guard method == .get else {
            return respond(wsi, status: 405, contentType: Self.plainText, body: Array("only GET is supported here\n".utf8))
        }
        if path == "/healthz" {
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

    /// Checks credentials, then waits for the body (POST) or hands the request over at once.
    private func startHandlerRequest(_ wsi: OpaquePointer, method: HTTPMethod, path: String) -> Int32 {
        let headers = RequestHeaders(wsi: wsi)
        let arguments = headers.queryArguments()
        let presented =
            AccessPolicy.bearerToken(fromAuthorization: headers.value(WSI_TOKEN_HTTP_AUTHORIZATION))
            ?? arguments.first(where: { $0.name == "token" })?.value
        guard let role = accessPolicy.role(presented: presented) else {
            return respondWithAPIError(wsi, APIError(status: 401, code: "unauthorized", "missing or wrong token"))
        }
        if role == .watcher && method != .get {
            return respondWithAPIError(
                wsi, APIError(status: 403, code: SyncErrorCode.forbidden.rawValue, "the read-only token cannot change anything"))
        }
        let request = HTTPRequest(
            method: method, path: path,
            // The token is a credential, not an argument for the handler.
            query: arguments.filter { $0.name != "token" }.map { HTTPRequest.QueryItem(name: $0.name, value: $0.value) })
        if method == .post {
            // lws 4.1.6 never completes a chunked request body: the request would hang.
            if headers.value(WSI_TOKEN_HTTP_TRANSFER_ENCODING) != nil {
                return respondWithAPIError(
                    wsi, APIError(status: 411, code: "length_required", "send the body with a Content-Length"))
            }
            // Without a Content-Length (or with 0) there is no body, and lws reports none.
            let declared = headers.value(WSI_TOKEN_HTTP_CONTENT_LENGTH).flatMap { Int($0.trimmingSpaces()) } ?? 0
            if declared > 0 {
                requestBodies[Self.key(wsi)] = PendingRequest(request: request)
                return 0
            }
        }
        dispatch(wsi, request)
        return 0
    }

    func receiveRequestBody(_ wsi: OpaquePointer, _ bytes: UnsafeRawBufferPointer) {
        let key = Self.key(wsi)
        guard var pending = requestBodies[key], !pending.tooLarge else { return }
        if pending.request.body.count + bytes.count > configuration.maximumMessageBytes {
            pending.tooLarge = true
            pending.request.body = []
        } else {
            pending.request.body.append(contentsOf: bytes)
        }
        requestBodies[key] = pending
    }

    func requestBodyComplete(_ wsi: OpaquePointer) -> Int32 {
        guard let pending = requestBodies.removeValue(forKey: Self.key(wsi)) else { return 0 }
        if pending.tooLarge {
            return respondWithAPIError(
                wsi,
                APIError(
                    status: 413, code: "body_too_large",
                    "request body larger than \(configuration.maximumMessageBytes) bytes"))
        }
        dispatch(wsi, pending.request)
        return 0
    }

    /// Runs the handler in a task; its response returns through the wakeup.
    private func dispatch(_ wsi: OpaquePointer, _ request: HTTPRequest) {
        guard let handler = httpHandler else { return }
        nextRequestSerial += 1
        let key = Self.key(wsi)
        let serial = nextRequestSerial
        awaitingHandler[key] = serial
        let wakeup = self.wakeup
        Task.detached {
            let response = await handler.handle(request)
            wakeup.deliver(HTTPCompletion(connectionKey: key, serial: serial, response: response))
        }
    }

    /// A handler's response, on the service thread; dropped if its connection has gone.
    func deliver(_ completion: HTTPCompletion) {
        guard awaitingHandler[completion.connectionKey] == completion.serial,
            let wsi = OpaquePointer(bitPattern: completion.connectionKey)
        else { return }
        awaitingHandler[completion.connectionKey] = nil
        let response = completion.response
        bodies[completion.connectionKey] = PendingBody(
            head: (UInt32(clamping: response.status), response.contentType), bytes: response.body)
        lws_callback_on_writable(wsi)
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
            return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
        }
        bodies[Self.key(wsi)] = PendingBody(head: nil, bytes: body)
        lws_callback_on_writable(wsi)
        return 0
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
        let key = Self.key(wsi)
        guard var body = bodies[key] else { return 0 }
        if let head = body.head {
            guard writeHead(wsi, status: head.status, contentType: head.contentType, contentLength: body.bytes.count) else {
                return -1
            }
            if body.bytes.isEmpty {
                bodies[key] = nil
                return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
            }
            body.head = nil
            bodies[key] = body
            lws_callback_on_writable(wsi)
            return 0
        }
        let count = min(Self.chunkSize, body.bytes.count - body.offset)
        let isLast = body.offset + count == body.bytes.count
        let result = write(
            wsi, body.bytes[body.offset..<(body.offset + count)], as: isLast ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP)
        guard result >= 0 else { return -1 }
        if isLast {
            bodies[key] = nil
            return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
        }
        body.offset += count
        bodies[key] = body
        lws_callback_on_writable(wsi)
        return 0
    }

    func forgetHTTP(_ wsi: OpaquePointer) {
        let key = Self.key(wsi)
        bodies[key] = nil
        requestBodies[key] = nil
        awaitingHandler[key] = nil
    }

    /// One `lws_write` of an HTTP payload, copied behind LWS_PRE spare bytes.
    func write(_ wsi: OpaquePointer, _ payload: ArraySlice<UInt8>, as kind: lws_write_protocol) -> Int32 {
        let pre = Int(cpatchsync_lws_pre())
        if httpWriteBuffer.count < pre + payload.count {
            httpWriteBuffer = [UInt8](repeating: 0, count: pre + max(payload.count, Self.chunkSize))
        }
        return httpWriteBuffer.withUnsafeMutableBufferPointer { buffer -> Int32 in
            let start = buffer.baseAddress! + pre
            payload.withUnsafeBufferPointer { source in
                if let sourceBase = source.baseAddress {
                    start.update(from: sourceBase, count: source.count)
                }
            }
            return lws_write(wsi, start, payload.count, kind)
        }
    }
}
