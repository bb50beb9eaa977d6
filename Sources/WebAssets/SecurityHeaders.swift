/// Headers served with every file of the page.
///
/// The page can restore old versions, so another site must not frame it and trick a click
/// (`frame-ancestors 'none'`). Scripts, styles and images come only from the page's own origin
/// (no inline script), and it connects only back to its origin, which covers its WebSocket
/// (`'self'` matches `ws:`/`wss:` of the same host), whatever proxy prefix it is served under.
extension WebAssets {
    public struct Header: Sendable, Hashable {
        public let name: String
        public let value: String
    }

    public static let securityHeaders: [Header] = [
        Header(
            name: "Content-Security-Policy",
            value: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
                + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
        Header(name: "X-Content-Type-Options", value: "nosniff"),
        Header(name: "Referrer-Policy", value: "no-referrer"),
    ]
}
