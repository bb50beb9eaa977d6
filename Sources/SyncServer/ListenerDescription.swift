extension ServerConfiguration.Listener: CustomStringConvertible {
    /// `http://host:port` or `unix:/path`, as printed by `patchsync serve`.
    public var description: String {
        switch self {
        case .tcp(let host, let port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "http://\(shownHost):\(port)"
        case .unix(let path):
            return "unix:\(path)"
        }
    }
}
