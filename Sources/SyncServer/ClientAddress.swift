/// The address a connection is attributed to in logs and per-address limits.
enum ClientAddress {
    /// `peer` is the socket's peer address. When the peer is a trusted proxy, the
    /// right-most `X-Forwarded-For` entry (the one that proxy added) is the client.
    static func resolve(peer: String, forwardedFor: String?, peerIsTrusted: Bool) -> String {
        guard peerIsTrusted, let forwardedFor else { return peer }
        let entries = forwardedFor.split(separator: ",").map { String($0).trimmingSpaces() }
        guard let last = entries.last(where: { !$0.isEmpty }) else { return peer }
        return last
    }
}
