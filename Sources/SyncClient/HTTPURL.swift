/// An `http://host[:port][/base/path]` address of a server (no TLS, no query).
public struct HTTPURL: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// The path the server is mounted under, without a trailing `/` (empty for the root).
    public var basePath: String

    public init(host: String, port: Int = 80, basePath: String = "") {
        self.host = host
        self.port = port
        self.basePath = basePath
    }

    /// Parses `http://host[:port][/path]`; IPv6 hosts go in brackets (`http://[::1]:3333`).
    public init(parsing text: String) throws(HTTPClientError) {
        func invalid(_ why: String) -> HTTPClientError {
            HTTPClientError(.invalidURL, "invalid URL '\(text)': \(why)")
        }
        let scheme = "http://"
        guard text.hasPrefix(scheme) else {
            throw invalid(text.hasPrefix("https://") ? "https is not supported; use http://" : "must start with http://")
        }
        let rest = text.dropFirst(scheme.count)
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let hostPart = rest[rest.startIndex..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.contains(where: { $0 == "?" || $0 == "#" || $0 == " " || $0.isNewline }) {
            throw invalid("the path may not contain '?', '#', spaces or line breaks")
        }
        while path.hasSuffix("/") { path.removeLast() }

        let authority: URLAuthority
        do {
            authority = try URLAuthority(parsing: hostPart)
        } catch {
            throw invalid(error.reason)
        }
        self.init(host: authority.host, port: authority.port, basePath: path)
    }

    /// The value of the `Host` header.
    public var hostHeader: String {
        URLAuthority(host: host, port: port).hostHeader
    }

    public var description: String { "http://\(hostHeader)\(basePath)" }
}
