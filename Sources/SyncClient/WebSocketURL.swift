/// A `ws://` or `wss://host[:port][/path][?query]` address, split into what libwebsockets'
/// client needs.
public struct WebSocketURL: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// The request target: path plus query, always starting with `/`.
    public var pathAndQuery: String
    /// TLS (`wss://`).
    public var isSecure: Bool

    public init(host: String, port: Int? = nil, pathAndQuery: String = "/", isSecure: Bool = false) {
        self.host = host
        self.port = port ?? (isSecure ? 443 : 80)
        self.pathAndQuery = pathAndQuery
        self.isSecure = isSecure
    }

    /// Parses `ws[s]://host[:port][/path][?query]`; IPv6 hosts go in brackets (`ws://[::1]:3333/ws`).
    public init(parsing text: String) throws(SyncClientError) {
        func invalid(_ why: String) -> SyncClientError {
            .invalidURL(url: text, reason: why)
        }
        let isSecure = text.hasPrefix("wss://")
        let scheme = isSecure ? "wss://" : "ws://"
        guard text.hasPrefix(scheme) else { throw invalid("must start with ws:// or wss://") }
        let rest = text.dropFirst(scheme.count)
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[rest.startIndex..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if target.isEmpty || target.first == "?" { target = "/" + target }
        if target.contains(where: { $0 == " " || $0 == "#" || $0.isNewline }) {
            throw invalid("the path contains a space, '#' or a line break")
        }

        let parsed: URLAuthority
        do {
            parsed = try URLAuthority(parsing: authority, defaultPort: isSecure ? 443 : 80)
        } catch {
            throw invalid(error.reason)
        }
        self.init(host: parsed.host, port: parsed.port, pathAndQuery: target, isSecure: isSecure)
    }

    /// The value of the `Host` header.
    var hostHeader: String {
        URLAuthority(host: host, port: port).hostHeader
    }

    public var description: String { "\(isSecure ? "wss" : "ws")://\(hostHeader)\(pathAndQuery)" }
}
