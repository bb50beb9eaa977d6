import SyncEngine

/// Turns the credentials of an upgrade request into a session role, or a refusal.
struct AccessPolicy {
    let credentials: ServerConfiguration.Credentials

    /// `presented` is the token from `Authorization: Bearer` or `?token=`.
    func role(presented: String?) -> SessionRole? {
        guard credentials.isRequired else { return .editor }
        guard let presented else { return nil }
        // Check both secrets every time so the timing does not say which one matched.
        let isEditor = credentials.token.map { constantTimeEquals(presented, $0) } ?? false
        let isWatcher = credentials.readToken.map { constantTimeEquals(presented, $0) } ?? false
        if isEditor { return .editor }
        if isWatcher { return .watcher }
        return nil
    }

    /// The bearer token in an `Authorization` header value.
    static func bearerToken(fromAuthorization header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingSpaces()
    }
}

extension String {
    func trimmingSpaces() -> String {
        var view = Substring(self)
        while view.first == " " || view.first == "\t" { view.removeFirst() }
        while view.last == " " || view.last == "\t" { view.removeLast() }
        return String(view)
    }
}
