import Glibc

/// A minimal blocking HTTP/1.1 client for the CLI: one request per connection
/// (`Connection: close`), the body sent with `Content-Length`, the whole answer read.
///
///     let client = HTTPClient()
///     let response = try client.send("GET", to: url, path: "/api/docs")
public struct HTTPClient: Sendable {
    /// A complete response.
    public struct Response: Sendable, Hashable {
        public var status: Int
        /// Header names as sent, in order.
        public var headers: [Header]
        public var body: [UInt8]

        /// The first header of that name, compared case-insensitively.
        public func header(_ name: String) -> String? {
            let wanted = name.lowercased()
            return headers.first(where: { $0.name.lowercased() == wanted })?.value
        }
    }

    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The longest one connect, send or receive may take.
    public var timeout: Duration
    /// Responses larger than this are refused.
    public var maximumResponseBytes: Int

    public init(timeout: Duration = .seconds(10), maximumResponseBytes: Int = 64 << 20) {
        self.timeout = timeout
        self.maximumResponseBytes = maximumResponseBytes
    }

    /// Sends one request to `url.basePath + path` (`path` starts with `/` and may hold a query).
    public func send(
        _ method: String, to url: HTTPURL, path: String, headers: [Header] = [], body: [UInt8] = []
    ) throws(HTTPClientError) -> Response {
        let request = try encodeRequest(method, url: url, path: path, headers: headers, body: body)
        let socket = try connect(to: url)
        defer { close(socket) }
        try sendAll(request, on: socket, url: url)
        let raw = try receiveAll(on: socket, url: url)
        return try HTTPResponseParser.parse(raw, from: url)
    }

    // MARK: Request

    private func encodeRequest(
        _ method: String, url: HTTPURL, path: String, headers: [Header], body: [UInt8]
    ) throws(HTTPClientError) -> [UInt8] {
        guard !method.isEmpty, method.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
            throw HTTPClientError(.invalidRequest, "invalid HTTP method '\(method)'")
        }
        guard path.hasPrefix("/"), !path.contains(where: { $0 == " " || $0.isNewline }) else {
            throw HTTPClientError(.invalidRequest, "invalid request path '\(path)'")
        }
        var text = "\(method) \(url.basePath)\(path) HTTP/1.1\r\n"
        var all = [
            Header(name: "Host", value: url.hostHeader), Header(name: "User-Agent", value: "patchsync"),
            Header(name: "Accept", value: "application/json, text/plain"), Header(name: "Connection", value: "close"),
            Header(name: "Content-Length", value: String(body.count)),
        ]
        all.append(contentsOf: headers)
        for header in all {
            // A line break in a value (e.g. a pasted token) would smuggle in another header.
            guard !header.name.isEmpty, !header.name.contains(where: { $0.isNewline || $0 == ":" || $0 == " " }),
                !header.value.contains(where: \.isNewline)
            else {
                throw HTTPClientError(.invalidRequest, "the header '\(header.name)' contains a line break or is malformed")
            }
            text += "\(header.name): \(header.value)\r\n"
        }
        text += "\r\n"
        return Array(text.utf8) + body
    }

    // MARK: Socket

    private func connect(to url: HTTPURL) throws(HTTPClientError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(url.host, String(url.port), &hints, &list)
        guard resolved == 0, let first = list else {
            let reason = String(cString: gai_strerror(resolved))
            throw HTTPClientError(.hostNotFound, "cannot resolve \(url.host): \(reason)")
        }
        defer { freeaddrinfo(list) }

        var lastError: Int32 = 0
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            let socket = Glibc.socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            guard socket >= 0 else {
                lastError = errno
                continue
            }
            // On Linux SO_SNDTIMEO also bounds connect().
            setTimeout(socket, SO_SNDTIMEO)
            setTimeout(socket, SO_RCVTIMEO)
            if Glibc.connect(socket, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 {
                return socket
            }
            lastError = errno
            close(socket)
        }
        throw HTTPClientError(.connectionFailed, "cannot connect to \(url.hostHeader): \(Self.describe(lastError))")
    }

    private func setTimeout(_ socket: Int32, _ option: Int32) {
        let (seconds, attoseconds) = timeout.components
        var value = timeval(tv_sec: Int(clamping: max(0, seconds)), tv_usec: Int(max(0, attoseconds) / 1_000_000_000_000))
        if value.tv_sec == 0 && value.tv_usec == 0 { value.tv_usec = 1 }
        _ = setsockopt(socket, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    private func sendAll(_ bytes: [UInt8], on socket: Int32, url: HTTPURL) throws(HTTPClientError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return Glibc.send(socket, base + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                throw HTTPClientError(.transferFailed, "cannot send the request to \(url.hostHeader): \(Self.describe(errno))")
            }
            offset += sent
        }
    }

    /// Reads until the server closes the connection (it must: the request said `Connection: close`).
    private func receiveAll(on socket: Int32, url: HTTPURL) throws(HTTPClientError) -> [UInt8] {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { return received }
            if count < 0 {
                if errno == EINTR { continue }
                let reason = errno == EAGAIN || errno == EWOULDBLOCK ? "no answer within the timeout" : Self.describe(errno)
                throw HTTPClientError(.transferFailed, "cannot read the response from \(url.hostHeader): \(reason)")
            }
            received.append(contentsOf: chunk[..<count])
            guard received.count <= maximumResponseBytes else {
                throw HTTPClientError(.invalidResponse, "the response from \(url.hostHeader) exceeds \(maximumResponseBytes) bytes")
            }
            if HTTPResponseParser.isComplete(received) { return received }
        }
    }

    static func describe(_ error: Int32) -> String {
        String(cString: strerror(error))
    }
}
