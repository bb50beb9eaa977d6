import CLibWebsockets
import Glibc
import LibWebsocketsSupport

/// A minimal blocking HTTP/1.1 client for the CLI, on libwebsockets' own HTTP client: one
/// request per call, `http://` or `https://` (the server's certificate checked against the
/// system's authorities and those of `tls.caFilePath`), the body sent with `Content-Length`,
/// the whole answer read. It runs its own lws context on the calling thread until the answer
/// is complete.
///
///     let client = HTTPClient()
///     let response = try client.send("GET", to: url, path: "/api/docs")
public struct HTTPClient: Sendable {
    /// A complete response.
    public struct Response: Sendable, Hashable {
        public var status: Int
        public var contentType: String?
        public var body: [UInt8]
    }

    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The longest the whole exchange may take.
    public var timeout: Duration
    /// Responses larger than this are refused.
    public var maximumResponseBytes: Int
    /// Whom `https://` trusts.
    public var tls: ClientTLSConfiguration

    public init(
        timeout: Duration = .seconds(10), maximumResponseBytes: Int = 64 << 20,
        tls: ClientTLSConfiguration = ClientTLSConfiguration()
    ) {
        self.timeout = timeout
        self.maximumResponseBytes = maximumResponseBytes
        self.tls = tls
    }

    /// Sends one request to `url.basePath + path` (`path` starts with `/` and may hold a query).
    public func send(
        _ method: String, to url: HTTPURL, path: String, headers: [Header] = [], body: [UInt8] = []
    ) throws(HTTPClientError) -> Response {
        guard !method.isEmpty, method.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
            throw HTTPClientError(.invalidRequest, "invalid HTTP method '\(method)'")
        }
        guard path.hasPrefix("/"), !path.contains(where: { $0 == " " || $0.isNewline }) else {
            throw HTTPClientError(.invalidRequest, "invalid request path '\(path)'")
        }
        for header in headers {
            // A line break in a value (e.g. a pasted token) would smuggle in another header.
            guard !header.name.isEmpty, !header.name.contains(where: { $0.isNewline || $0 == ":" || $0 == " " }),
                !header.value.contains(where: \.isNewline)
            else {
                throw HTTPClientError(.invalidRequest, "the header '\(header.name)' contains a line break or is malformed")
            }
        }
        if url.isSecure, let problem = tls.caFileProblem(), let path = tls.caFilePath {
            throw HTTPClientError(.unusableCAFile, "cannot use the CA file '\(path)': \(problem)")
        }
        if url.isSecure, let problem = ClientTLSConfiguration.uncheckableHostProblem(url.host) {
            throw HTTPClientError(.connectionFailed, "cannot connect to \(url.hostHeader): \(problem)")
        }
        let exchange = HTTPClientExchange(
            url: url, headers: headers, body: body, maximumResponseBytes: maximumResponseBytes, tls: tls)
        return try exchange.run(method: method, path: url.basePath + path, timeout: timeout)
    }
}
