/// The `host[:port]` part of a `ws://` or `http://` URL; IPv6 hosts go in brackets (`[::1]:3333`).
struct URLAuthority: Hashable, Sendable {
    var host: String
    var port: Int

    /// Why an authority was refused, for the caller to wrap in its own error.
    struct Invalid: Error {
        let reason: String
    }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init(parsing text: Substring, defaultPort: Int = 80) throws(Invalid) {
        var hostPart = text
        var portPart: Substring?
        if hostPart.first == "[" {
            guard let close = hostPart.firstIndex(of: "]") else { throw Invalid(reason: "unclosed '[' in the host") }
            let after = hostPart[hostPart.index(after: close)...]
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
            if !after.isEmpty {
                guard after.first == ":" else { throw Invalid(reason: "unexpected text after ']'") }
                portPart = after.dropFirst()
            }
        } else if let colon = hostPart.lastIndex(of: ":") {
            portPart = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[hostPart.startIndex..<colon]
        }
        guard !hostPart.isEmpty else { throw Invalid(reason: "the host is empty") }
        if hostPart.contains("@") { throw Invalid(reason: "user information in the URL is not supported") }
        var port = defaultPort
        if let portPart {
            guard let parsed = Int(portPart), (1...65535).contains(parsed) else {
                throw Invalid(reason: "the port '\(portPart)' is not a number from 1 to 65535")
            }
            port = parsed
        }
        self.init(host: String(hostPart), port: port)
    }

    /// The value of the `Host` header.
    var hostHeader: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? bracketed : "\(bracketed):\(port)"
    }
}
