/// The address a connection is attributed to in logs and per-address limits.
enum ClientAddress {
    /// `peer` is the socket's peer address. When the peer is trusted, `X-Forwarded-For` is read
    /// from the right, past every trusted proxy in the chain: the first untrusted entry is the
    /// client. Entries left of it were written by the client itself and cannot be believed.
    static func resolve(
        peer: String, peerIsTrusted: Bool, forwardedFor: String?, isTrustedProxy: (String) -> Bool
    ) -> String {
        guard peerIsTrusted, let forwardedFor else { return peer }
        let entries = forwardedFor.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        return entries.last(where: { !isTrustedProxy($0) }) ?? entries.first ?? peer
    }
}
