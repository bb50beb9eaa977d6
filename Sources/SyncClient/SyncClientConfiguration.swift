extension SyncClient {
    /// How a `SyncClient` connects and how long it waits.
    public struct Configuration: Sendable {
        /// Where the server's WebSocket endpoint is, e.g. `ws://127.0.0.1:3333/ws?doc=default`,
        /// or `wss://` for TLS.
        public var url: WebSocketURL
        /// The member of a `Full` message that holds the document (`"todo"` for the Todo list).
        public var stateKey: String
        /// How long `connect()` waits for the connection and the first `Full`.
        public var connectTimeout: Duration
        /// How long `send(action:)` waits for its `Ack` or `Error`, and `waitForVersion` for a version.
        public var replyTimeout: Duration
        /// Sent as `Authorization: Bearer <token>` in the opening handshake when set.
        public var bearerToken: String?
        /// A server message larger than this closes the connection (status 1009).
        public var maximumMessageSize: Int
        /// The WebSocket subprotocol to request; nil requests none.
        public var subprotocol: String?
        /// Set to reconnect after a lost connection: the client then names itself with a random
        /// `?client=` ID, resumes with `?since=` its version, and resends the actions still
        /// awaiting their reply with the same ids, so that none is applied twice. Nil (the
        /// default): the first lost connection ends the client.
        public var reconnect: ReconnectPolicy?
        /// On `wss://`: a PEM file of certificate authorities trusted besides the system's (a
        /// private CA). The server's certificate and host name are checked either way.
        public var caFilePath: String?
        /// Offer permessage-deflate, so that the server compresses what it sends: worth it over
        /// a slow link. Off by default, as on a local one inflating costs more than it saves.
        public var offersCompression = false

        public init(
            url: WebSocketURL,
            stateKey: String = "todo",
            connectTimeout: Duration = .seconds(10),
            replyTimeout: Duration = .seconds(10),
            bearerToken: String? = nil,
            maximumMessageSize: Int = 1 << 20,
            subprotocol: String? = nil,
            reconnect: ReconnectPolicy? = nil,
            caFilePath: String? = nil
        ) {
            self.url = url
            self.stateKey = stateKey
            self.connectTimeout = connectTimeout
            self.replyTimeout = replyTimeout
            self.bearerToken = bearerToken
            self.maximumMessageSize = maximumMessageSize
            self.subprotocol = subprotocol
            self.reconnect = reconnect
            self.caFilePath = caFilePath
        }

        /// Parses `url` (`ws[s]://host[:port][/path][?query]`) and takes the defaults for the rest.
        public init(url: String) throws(SyncClientError) {
            self.init(url: try WebSocketURL(parsing: url))
        }

        var connectionOptions: WebSocketConnectionOptions {
            WebSocketConnectionOptions(
                subprotocol: subprotocol, bearerToken: bearerToken, maximumMessageSize: maximumMessageSize)
        }

        /// The client loop's TLS settings: only `wss://` needs OpenSSL initialised.
        var tls: ClientTLSConfiguration? {
            url.isSecure ? ClientTLSConfiguration(caFilePath: caFilePath) : nil
        }

        var connectTimeoutSeconds: Int {
            let seconds = connectTimeout.components.seconds
            return Int(clamping: seconds + (connectTimeout.components.attoseconds > 0 ? 1 : 0))
        }
    }
}
