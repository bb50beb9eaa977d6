extension WebSocketURL {
    /// This URL with the query argument `name` set to `value` (replacing any it has).
    /// `value` must need no percent-encoding (a version, a client ID).
    func settingQueryArgument(_ name: String, to value: String) -> WebSocketURL {
        let parts = pathAndQuery.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts[0]
        var arguments = parts.count > 1 ? parts[1].split(separator: "&").map(String.init) : []
        arguments.removeAll { $0 == name || $0.hasPrefix(name + "=") }
        arguments.append(name + "=" + value)
        var url = self
        url.pathAndQuery = path + "?" + arguments.joined(separator: "&")
        return url
    }
}
