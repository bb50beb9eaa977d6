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
        var hostPart = rest[rest.startIndex..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.contains(where: { $0 == "?" || $0 == "#" || $0 == " " || $0.isNewline }) {
            throw invalid("the path may not contain '?', '#', spaces or line breaks")
        }
        while path.hasSuffix("/") { path.removeLast() }

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
        self.init(host: String(hostPart), port: port, basePath: path)
    }

    /// The value of the `Host` header.
    public var hostHeader: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? bracketed : "\(bracketed):\(port)"
    }

    public var description: String { "http://\(hostHeader)\(basePath)" }
}
