/// An `http://` or `https://host[:port][/base/path]` address of a server (no query).
public struct HTTPURL: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// The path the server is mounted under, without a trailing `/` (empty for the root).
    public var basePath: String
    /// TLS (`https://`).
    public var isSecure: Bool

    public init(host: String, port: Int? = nil, basePath: String = "", isSecure: Bool = false) {
        self.host = host
        self.port = port ?? (isSecure ? 443 : 80)
        self.basePath = basePath
        self.isSecure = isSecure
    }

    /// Parses `http[s]://host[:port][/path]`; IPv6 hosts go in brackets (`http://[::1]:3333`).
    public init(parsing text: String) throws(HTTPClientError) {
        func invalid(_ why: String) -> HTTPClientError {
            HTTPClientError(.invalidURL, "invalid URL '\(text)': \(why)")
        }
        let isSecure = text.hasPrefix("https://")
        let scheme = isSecure ? "https://" : "http://"
        guard text.hasPrefix(scheme) else { throw invalid("must start with http:// or https://") }
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
            authority = try URLAuthority(parsing: hostPart, defaultPort: isSecure ? 443 : 80)
        } catch {
            throw invalid(error.reason)
        }
        self.init(host: authority.host, port: authority.port, basePath: path, isSecure: isSecure)
    }

    /// The value of the `Host` header.
    public var hostHeader: String {
        URLAuthority(host: host, port: port).hostHeader
    }

    public var description: String { "\(isSecure ? "https" : "http")://\(hostHeader)\(basePath)" }
}
