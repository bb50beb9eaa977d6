import AccessTokens

/// Everything that shapes a `PatchsyncServer`: where it listens, how big messages and
/// queues may grow, who may connect and how often they may act.
public struct ServerConfiguration: Sendable {
    /// Where the server accepts connections.
    public enum Listener: Sendable, Hashable {
        /// A TCP address. Port 0 asks the kernel for a free port; `PatchsyncServer.start()` reports it.
        case tcp(host: String, port: Int)
        /// A Unix domain socket at this path, for a reverse proxy on the same box.
        case unix(path: String)
    }

    /// Client credentials. A session presenting `token` is an editor, one presenting
    /// `readToken` a viewer, one presenting a token `tokenVerifier` accepts gets what its
    /// claims grant. With none set, everybody is an editor.
    public struct Credentials: Sendable {
        /// Required for editing (and, if `readToken` is nil, for any connection).
        public var token: String?
        /// Grants a watch-only session.
        public var readToken: String?
        /// Checks signed tokens (`--jwt-key`); its keys may be replaced while the server runs.
        public var tokenVerifier: TokenVerifier?

        public init(token: String? = nil, readToken: String? = nil, tokenVerifier: TokenVerifier? = nil) {
            self.token = token
            self.readToken = readToken
            self.tokenVerifier = tokenVerifier
        }

        /// Whether any credential is required at all.
        public var isRequired: Bool { token != nil || readToken != nil || tokenVerifier != nil }
    }

    /// Connection and action limits. Zero turns a limit off.
    public struct Limits: Sendable {
        /// WebSocket sessions open at once.
        public var maximumConnections: Int
        /// WebSocket sessions open at once from one client address.
        public var maximumConnectionsPerAddress: Int
        /// Messages per second one session may send, on average.
        public var messagesPerSecond: Double
        /// Messages one session may send in a burst above the average rate.
        public var messageBurst: Int
        /// Refused messages in a row after which a session over the rate is closed with 1008.
        public var refusalsBeforeClose: Int

        public init(
            maximumConnections: Int = 4096,
            maximumConnectionsPerAddress: Int = 1024,
            messagesPerSecond: Double = 0,
            messageBurst: Int = 100,
            refusalsBeforeClose: Int = 10
        ) {
            self.maximumConnections = maximumConnections
            self.maximumConnectionsPerAddress = maximumConnectionsPerAddress
            self.messagesPerSecond = messagesPerSecond
            self.messageBurst = messageBurst
            self.refusalsBeforeClose = refusalsBeforeClose
        }
    }

    /// WebSocket ping/pong keepalive, done by libwebsockets.
    public struct Keepalive: Sendable {
        /// Seconds without traffic before the server sends a ping.
        public var pingAfterSeconds: Int
        /// Seconds without a valid pong (or other traffic) before the peer is dropped.
        public var dropAfterSeconds: Int

        public init(pingAfterSeconds: Int = 30, dropAfterSeconds: Int = 60) {
            self.pingAfterSeconds = pingAfterSeconds
            self.dropAfterSeconds = dropAfterSeconds
        }
    }

    public var listener: Listener
    /// For a Unix socket: the group it is handed to (the server must belong to it), so that a
    /// proxy in that group may connect. The socket is always mode 0660. Nil keeps the server's group.
    public var unixSocketGroup: String? = nil
    /// Largest reassembled incoming message; a larger one closes the session with 1009.
    public var maximumMessageBytes: Int
    /// Bytes queued for one session before it counts as too slow and is closed with 1013.
    public var outboundQueueLimitBytes: Int
    /// Seconds a closing session (shutdown, too slow, message too big) gets to take its
    /// pending writes and close frame before the connection is dropped regardless.
    public var closeTimeoutSeconds: Int
    /// Origins allowed to open WebSocket sessions (e.g. `https://box.example`).
    /// Empty means the server's own host (the request's `Host`). Requests without
    /// an `Origin` header (programs, not browsers) are always allowed.
    public var allowedOrigins: [String]
    public var credentials: Credentials
    public var limits: Limits
    public var keepalive: Keepalive
    /// Offer permessage-deflate to clients that ask for it.
    public var compression: Bool
    /// Send a session that fell behind its queued Patches as one Patch (`from` the first's
    /// version); off, every version is a frame of its own.
    public var coalescePatches: Bool
    /// Peer addresses whose `X-Forwarded-For` header names the real client.
    /// Peers on a Unix socket are always trusted.
    public var trustedProxies: [String]

    public init(
        listener: Listener = .tcp(host: "127.0.0.1", port: 3333),
        maximumMessageBytes: Int = 1 << 20,
        outboundQueueLimitBytes: Int = 8 << 20,
        closeTimeoutSeconds: Int = 5,
        allowedOrigins: [String] = [],
        credentials: Credentials = Credentials(),
        limits: Limits = Limits(),
        keepalive: Keepalive = Keepalive(),
        compression: Bool = true,
        coalescePatches: Bool = true,
        trustedProxies: [String] = ["127.0.0.1", "::1"]
    ) {
        self.listener = listener
        self.maximumMessageBytes = maximumMessageBytes
        self.outboundQueueLimitBytes = outboundQueueLimitBytes
        self.closeTimeoutSeconds = closeTimeoutSeconds
        self.allowedOrigins = allowedOrigins
        self.credentials = credentials
        self.limits = limits
        self.keepalive = keepalive
        self.compression = compression
        self.coalescePatches = coalescePatches
        self.trustedProxies = trustedProxies
    }
}
