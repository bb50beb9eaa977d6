import CLibWebsockets
import Glibc
import JSONPatch
import LibWebsocketsSupport

/// One request of an `HTTPClient`: an lws context of its own, serviced on the calling thread
/// until the response is complete, failed or out of time. The lws callback finds it through the
/// context's user pointer.
final class HTTPClientExchange {
    private let url: HTTPURL
    private let headers: [HTTPClient.Header]
    private let body: [UInt8]
    private let maximumResponseBytes: Int
    private let tls: ClientTLSConfiguration

    private var status = 0
    private var contentType: String?
    private var received: [UInt8] = []
    private var outcome: Result<Void, HTTPClientError>?
    private var writeBuffer = FrameWriteBuffer()
    private var certificateRefusal: String?

    init(
        url: HTTPURL, headers: [HTTPClient.Header], body: [UInt8], maximumResponseBytes: Int,
        tls: ClientTLSConfiguration
    ) {
        self.url = url
        self.headers = headers
        self.body = body
        self.maximumResponseBytes = maximumResponseBytes
        self.tls = tls
    }

    func run(method: String, path: String, timeout: Duration) throws(HTTPClientError) -> HTTPClient.Response {
        let seconds = max(1, Int(timeout.components.seconds) + (timeout.components.attoseconds > 0 ? 1 : 0))
        var strings: [UnsafeMutablePointer<CChar>] = []
        func keep(_ text: String) -> UnsafePointer<CChar> {
            let copy = strdup(text)!
            strings.append(copy)
            return UnsafePointer(copy)
        }
        defer { strings.forEach { free($0) } }

        let protocols = UnsafeMutablePointer<lws_protocols>.allocate(capacity: 2)
        protocols.initialize(repeating: lws_protocols(), count: 2)
        defer { protocols.deallocate() }
        protocols[0].name = keep("patchsync-http")
        protocols[0].callback = httpClientCallback

        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(protocols)
        info.gid = -1
        info.uid = -1
        info.timeout_secs = UInt32(clamping: seconds)
        info.connect_timeout_secs = UInt32(clamping: seconds)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        let created = url.isSecure ? tls.withContextInfo(&info) { lws_create_context(&$0) } : lws_create_context(&info)
        guard let context = created else {
            throw HTTPClientError(.connectionFailed, "cannot create a libwebsockets client context")
        }
        defer { lws_context_destroy(context) }

        var connect = lws_client_connect_info()
        connect.context = context
        connect.address = keep(url.host)
        connect.port = Int32(url.port)
        connect.path = keep(path)
        connect.host = keep(url.hostHeader)
        connect.origin = keep(url.hostHeader)
        connect.method = keep(method)
        connect.local_protocol_name = protocols[0].name
        if url.isSecure {
            connect.ssl_connection = Int32(LCCSCF_USE_SSL.rawValue)
            connect.alpn = keep("http/1.1")
        }
        guard lws_client_connect_via_info(&connect) != nil, outcome == nil else {
            throw failure ?? HTTPClientError(.connectionFailed, "cannot connect to \(url.hostHeader)")
        }
        let deadline = ContinuousClock.now + timeout
        while outcome == nil {
            if ContinuousClock.now > deadline {
                throw HTTPClientError(.transferFailed, "no complete answer from \(url.hostHeader) within \(secondsText(timeout)) s")
            }
            if lws_service(context, 0) < 0 { break }
        }
        if let failure { throw failure }
        return HTTPClient.Response(status: status, contentType: contentType, body: received)
    }

    private var failure: HTTPClientError? {
        if case .failure(let error) = outcome { return error }
        return nil
    }

    private func fail(_ error: HTTPClientError) {
        if outcome == nil { outcome = .failure(error) }
    }

    // MARK: lws callbacks (the calling thread, inside `lws_service`)

    func handle(
        _ wsi: OpaquePointer, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
        _ input: UnsafeMutableRawPointer?, _ length: Int
    ) -> Int32 {
        switch reason {
        case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
            // Returning 0 keeps OpenSSL's verdict; only its reason is kept for the error.
            if certificateRefusal == nil { certificateRefusal = CertificateRefusal.reason(store: user, verdict: length) }
            return 0
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
            guard let input else { return -1 }
            let cursor = input.assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self)
            guard let start = cursor.pointee else { return -1 }
            let end = start + length
            var all = headers + [HTTPClient.Header(name: "Accept", value: "application/json, text/plain")]
            if !body.isEmpty { all.append(HTTPClient.Header(name: "Content-Length", value: String(body.count))) }
            for header in all {
                let name = header.name.lowercased() + ":"
                let added = header.value.withCString { value in
                    lws_add_http_header_by_name(
                        wsi, name, UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self),
                        Int32(header.value.utf8.count), cursor, end)
                }
                if added != 0 {
                    fail(HTTPClientError(.invalidRequest, "the request headers do not fit"))
                    return -1
                }
            }
            if !body.isEmpty {
                lws_client_http_body_pending(wsi, 1)
                lws_callback_on_writable(wsi)
            }
            return 0
        case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
            guard !body.isEmpty else { return 0 }
            lws_client_http_body_pending(wsi, 0)
            return writeBuffer.write(body, to: wsi, as: LWS_WRITE_HTTP_FINAL) < 0 ? -1 : 0
        case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
            status = Int(lws_http_client_http_response(wsi))
            contentType = RequestHeaderValue.read(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE)
            return 0
        case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
            let headroom = Int(cpatchsync_lws_pre())
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: headroom + 4096) { buffer -> Int32 in
                var start: UnsafeMutablePointer<CChar>? = buffer.baseAddress! + headroom
                var count: Int32 = 4096
                return lws_http_client_read(wsi, &start, &count) < 0 ? -1 : 0
            }
        case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
            guard received.count + length <= maximumResponseBytes else {
                fail(HTTPClientError(.invalidResponse, "the answer is larger than \(maximumResponseBytes) bytes"))
                return -1
            }
            if let input { received.append(contentsOf: UnsafeRawBufferPointer(start: input, count: length)) }
            return 0
        case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
            if outcome == nil { outcome = .success(()) }
            lws_cancel_service(lws_get_context(wsi))
            return 0
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            let why = certificateRefusal
                ?? input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "unknown error"
            fail(HTTPClientError(.connectionFailed, "cannot connect to \(url.hostHeader): \(why)"))
            return 0
        case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
            fail(HTTPClientError(.transferFailed, "\(url.hostHeader) closed the connection before the answer ended"))
            return 0
        default:
            return lws_callback_http_dummy(wsi, reason, nil, input, length)
        }
    }
}

private func httpClientCallback(
    _ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
    _ input: UnsafeMutableRawPointer?, _ length: Int
) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let pointer = lws_context_user(context) else {
        return lws_callback_http_dummy(wsi, reason, user, input, length)
    }
    return Unmanaged<HTTPClientExchange>.fromOpaque(pointer).takeUnretainedValue().handle(wsi, reason, user, input, length)
}

/// One response header, copied while lws still holds it.
private enum RequestHeaderValue {
    static func read(_ wsi: OpaquePointer, _ token: lws_token_indexes) -> String? {
        let length = Int(lws_hdr_total_length(wsi, token))
        guard length > 0 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            guard lws_hdr_copy(wsi, buffer.baseAddress, Int32(length + 1), token) >= 0 else { return nil }
            return String(cString: buffer.baseAddress!)
        }
    }
}
