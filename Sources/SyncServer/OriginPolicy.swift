/// Decides whether a browser page from `Origin` may open a WebSocket session.
struct OriginPolicy {
    /// Exact origins allowed; empty means "same host as the request"; `*` allows all.
    let allowedOrigins: [String]

    init(allowedOrigins: [String]) {
        self.allowedOrigins = allowedOrigins.map(Self.normalized)
    }

    /// `origin` is the Origin header (nil for non-browser clients), `host` the Host header.
    func allows(origin: String?, host: String?) -> Bool {
        guard let origin else { return true }
        let candidate = Self.normalized(origin)
        if allowedOrigins.isEmpty {
            guard let host else { return false }
            return Self.sameHost(origin: candidate, host: host.lowercased())
        }
        return allowedOrigins.contains("*") || allowedOrigins.contains(candidate)
    }

    private static func normalized(_ origin: String) -> String {
        var text = origin.lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// The origin's authority must be the Host; a proxy that drops the port from Host
    /// (nginx's `$host`) still matches on the host name alone.
    private static func sameHost(origin: String, host: String) -> Bool {
        let parts = origin.split(separator: "/", omittingEmptySubsequences: true)
        // "scheme:", "authority": an origin has no path.
        guard parts.count == 2, parts[0].hasSuffix(":") else { return false }
        let authority = String(parts[1])
        if authority == host { return true }
        guard !host.contains(":") || host.hasPrefix("[") && host.hasSuffix("]") else { return false }
        return hostName(of: authority) == host
    }

    private static func hostName(of authority: String) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[...close])
        }
        return String(authority.split(separator: ":", maxSplits: 1).first ?? "")
    }
}
