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

        var hostPart = Substring(authority)
        var portPart: Substring?
        if hostPart.first == "[" {
            guard let close = hostPart.firstIndex(of: "]") else { throw invalid("unclosed '[' in the host") }
            let after = hostPart[hostPart.index(after: close)...]
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
            if !after.isEmpty {
                guard after.first == ":" else { throw invalid("unexpected text after ']'") }
                portPart = after.dropFirst()
            }
        } else if let colon = hostPart.lastIndex(of: ":") {
            portPart = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[hostPart.startIndex..<colon]
        }
        guard !hostPart.isEmpty else { throw invalid("the host is empty") }
        if hostPart.contains("@") { throw invalid("user information in the URL is not supported") }

        var port = 80
        if let portPart {
            guard let parsed = Int(portPart), (1...65535).contains(parsed) else {
                throw invalid("the port '\(portPart)' is not a number from 1 to 65535")
            }
            port = parsed
        }
        self.init(host: String(hostPart), port: port, pathAndQuery: target)
    }

    /// The value of the `Host` header.
    var hostHeader: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? bracketed : "\(bracketed):\(port)"
    }

    public var description: String { "ws://\(hostHeader)\(pathAndQuery)" }
}
