/// A `ws://host[:port][/path][?query]` address, split into what libwebsockets' client needs.
public struct WebSocketURL: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// The request target: path plus query, always starting with `/`.
    public var pathAndQuery: String

    public init(host: String, port: Int = 80, pathAndQuery: String = "/") {
        self.host = host
        self.port = port
        self.pathAndQuery = pathAndQuery
    }

    /// Parses `ws://host[:port][/path][?query]`; IPv6 hosts go in brackets (`ws://[::1]:3333/ws`).
    public init(parsing text: String) throws(SyncClientError) {
        func invalid(_ why: String) -> SyncClientError {
            .invalidURL(url: text, reason: why)
        }
        let scheme = "ws://"
        guard text.hasPrefix(scheme) else {
            throw invalid(text.hasPrefix("wss://") ? "wss:// (TLS) is not supported; use ws://" : "must start with ws://")
        }
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
            parsed = try URLAuthority(parsing: authority)
        } catch {
            throw invalid(error.reason)
        }
        self.init(host: parsed.host, port: parsed.port, pathAndQuery: target)
    }

    /// The value of the `Host` header.
    var hostHeader: String {
        URLAuthority(host: host, port: port).hostHeader
    }

    public var description: String { "ws://\(hostHeader)\(pathAndQuery)" }
}
