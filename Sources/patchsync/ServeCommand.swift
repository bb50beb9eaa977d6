import AccessTokens
import ArgumentParser
import FileStore
import Glibc
import Logging
import PostgresBackend
import SyncAPI
import SyncEngine
import SyncServer
import TodoModel

/// `patchsync serve`: the shared Todo list over HTTP and WebSocket on one port.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the shared Todo list: the web page, /healthz, /api, /metrics and WebSocket sessions on /ws.",
        discussion: """
            Prints "listening on http://HOST:PORT" (or "listening on unix:PATH") on stdout once it \
            accepts connections. SIGINT or SIGTERM stops it gracefully: pending messages are \
            written, sessions are closed with status 1001 and the log is flushed; exit status 0.

            Every option can also come from the environment as PATCHSYNC_<OPTION> (for example \
            PATCHSYNC_PORT=8080, PATCHSYNC_TOKEN=..., PATCHSYNC_NO_COMPRESSION=1; repeatable options \
            take a comma-separated list), or from a file given with --config (or PATCHSYNC_CONFIG) \
            holding one `option = value` per line (`port = 8080`, `allow-origin = https://a.example`, \
            `no-compression = true`; `#` starts a comment; a repeatable option may appear on several \
            lines). The command line wins over the environment, which wins over the file. Prefer the \
            environment or a file readable only by the service for tokens: command lines are visible \
            to every user of the box.
            """)

    @Option(help: "A file of `option = value` lines read for options given neither here nor in the environment.")
    var config: String?

    @Option(help: "Address to listen on. (default: 127.0.0.1)")
    var host: String?

    @Option(help: "TCP port; 0 picks a free port. (default: 3333)")
    var port: Int?

    @Option(help: "Listen on this Unix socket path instead of TCP (for a reverse proxy on the same box). The socket is mode 0660.")
    var unix: String?

    @Option(help: "Give the Unix socket to this group (one the server belongs to, e.g. nginx's www-data) so its members may connect.")
    var unixGroup: String?

    @Option(help: "Directory holding the documents' logs and snapshots. (default: ./data)")
    var data: String?

    @Option(help: "A directory of document types: each NAME.json is a JSON Schema (draft 2020-12) whose x-patchsync.documents patterns name its documents. Others are Todo lists. See docs/types.md.")
    var types: String?

    @Option(help: "Keep documents in PostgreSQL instead of --data: a libpq connection string or postgresql:// URL. Instances naming the same database share the documents.")
    var database: String?

    @Option(help: "The schema holding patchsync's tables in --database; created at start-up. (default: patchsync)")
    var databaseSchema: String?

    @Option(help: "Seconds between checks of every open document against --database, healing missed notifications. (default: 5)")
    var databaseCheckInterval: Double?

    @Option(help: "Seconds after which the other instances on --database drop this instance's sessions from presence when it stops answering (killed, cut off); it announces itself every quarter of this. At least 1. (default: 20)")
    var databasePresenceTimeout: Double?

    @Option(help: "Largest incoming message in bytes; larger ones close the session with 1009. (default: 1048576)")
    var maxMessageBytes: Int?

    @Option(help: "Bytes queued for one session before it is closed as too slow (1013). (default: 8388608)")
    var maxQueueBytes: Int?

    @Option(help: "Most documents in memory at once; a session on another one gets HTTP 503 too_many_documents. (default: 100)")
    var maxDocuments: Int?

    @Option(help: "Largest document, as JSON text; an action that would grow one past it gets document_too_large. (default: 8388608)")
    var maxDocumentBytes: Int?

    @Option(help: "Most members of one object or array of a document (the list's rows); more gets too_many_members. (default: 200000)")
    var maxMembers: Int?

    @Option(help: "Longest string or key in a client message, in bytes; longer gets string_too_long. (default: 65536)")
    var maxStringBytes: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical. (default: info)")
    var logLevel: String?

    @Option(help: "An Origin allowed to open WebSocket sessions; repeatable; '*' allows all. (default: the server's own host)")
    var allowOrigin: [String] = []

    @Option(help: "Require this token on WebSocket upgrades, /api and /metrics: 'Authorization: Bearer TOKEN' or '?token=TOKEN'.")
    var token: String?

    @Option(help: "A token that only watches: sessions get state but every action gets 'forbidden'; the API is read-only.")
    var readToken: String?

    @Option(help: ArgumentHelp(
        "A key for signed tokens (JWT); repeatable. A PEM public key checks EdDSA (Ed25519) or ES256 (P-256) tokens, any other file is an HS256 secret. A token's 'kid' names the file's base name without extension. Read again on SIGHUP.",
        valueName: "file"))
    var jwtKey: [String] = []

    @Option(help: "Most WebSocket sessions at once; 0 is unlimited. (default: 4096)")
    var maxConnections: Int?

    @Option(help: "Most WebSocket sessions at once from one client address; 0 is unlimited. (default: 1024)")
    var maxConnectionsPerAddress: Int?

    @Option(help: "Messages per second one session may send on average; 0 is unlimited. (default: 0)")
    var maxMessagesPerSecond: Double?

    @Option(help: "Messages one session may send at once above that rate. (default: 100)")
    var messageBurst: Int?

    @Option(help: "Seconds of silence before the server pings a client. (default: 30)")
    var pingInterval: Int?

    @Option(help: "Seconds without an answer before a client is dropped; more than --ping-interval. (default: 60)")
    var pingTimeout: Int?

    @Flag(help: "Do not offer permessage-deflate compression.")
    var noCompression = false

    @Flag(help: "Send every version as a Patch of its own, even to a client that fell behind (by default its queued Patches go out as one).")
    var noCoalesce = false

    @Option(help: "A proxy address whose X-Forwarded-For names the real client; repeatable. (default: 127.0.0.1 and ::1)")
    var trustedProxy: [String] = []

    @Option(help: "Seconds a closing session (shutdown, too slow, too big) gets to take its last messages and close frame before it is dropped. (default: 5)")
    var closeTimeout: Int?

    func run() async throws {
        let environment = try OptionSources(configFile: config ?? OptionSources.environmentValue("CONFIG"))
        let level = try environment.value(logLevel, "LOG_LEVEL", default: "info")
        guard let logLevel = Logger.Level(rawValue: level.lowercased()) else {
            throw ValidationError("--log-level: '\(level)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        var logger = Logger(label: "patchsync") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = logLevel
        LibWebsocketsLog.route(to: logger)

        let serverConfiguration = try makeServerConfiguration(environment)
        let store = try makeDatabaseStore(environment, logger: logger)
        var engineConfiguration = try makeEngineConfiguration(environment, database: store, logger: logger)
        engineConfiguration.presenceBus = try makePresenceBus(environment, store: store, logger: logger)
        let typesDirectory = try environment.optionalValue(types, "TYPES")
        try environment.rejectUnknownFileOptions()
        if config != nil, OptionSources.environmentValue("CONFIG") != nil {
            logger.warning("--config on the command line overrides PATCHSYNC_CONFIG")
        }
        for override in environment.overrides {
            logger.warning("\(override)")
        }
        if let typesDirectory {
            do {
                engineConfiguration.types = try TypesDirectory.load(typesDirectory, reserved: TodoList.modelName)
            } catch {
                logger.critical("cannot read the document types", metadata: ["error": "\(error)"])
                throw ExitCode.failure
            }
            for type in engineConfiguration.types.types {
                logger.info(
                    "Declared document type",
                    metadata: [
                        "model": "\(type.name)", "documents": "\(type.patterns.map(\.description).joined(separator: ","))",
                        "version": "\(type.version)",
                    ])
            }
        }

        // A peer that vanishes mid-write must not kill the process.
        signal(SIGPIPE, SIG_IGN)
        if serverConfiguration.limits.maximumConnections > 0 {
            setFileLimit(serverConfiguration.limits.maximumConnections + 1024)
        }

        let engine: SyncEngine<TodoList>
        do {
            engine = try await SyncEngine<TodoList>(configuration: engineConfiguration, logger: logger)
        } catch {
            logger.critical(
                store == nil ? "cannot open the data directory" : "cannot open the database",
                metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        let verifier = serverConfiguration.credentials.tokenVerifier
        guard let signals = TerminationSignals.install(reloading: verifier != nil) else {
            logger.critical("cannot install signal handlers")
            throw ExitCode.failure
        }
        let counters = ConnectionCounters()
        let api = DocumentAPI(engine: engine, transport: counters, logger: logger)
        let server = PatchsyncServer(
            configuration: serverConfiguration, engine: engine, httpHandler: api, counters: counters, logger: logger)
        let address: ServerConfiguration.Listener
        do {
            address = try await server.start()
        } catch {
            logger.critical("cannot start the server", metadata: ["error": "\(error)"])
            await engine.shutdown()
            throw ExitCode.failure
        }
        // Straight to the descriptor: stdout is a pipe in tests and scripts, and must not wait in a buffer.
        let line = Array("listening on \(address)\n".utf8)
        _ = line.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        // Serving needs a fraction of what starting up touched: give the rest back.
        StartupPages.release()

        var signal = await TerminationSignals.wait(readEnd: signals)
        while signal == SIGHUP, let verifier {
            reloadKeys(verifier, logger: logger)
            signal = await TerminationSignals.wait(readEnd: signals)
        }
        logger.info("received signal", metadata: ["signal": "\(signal)"])
        await server.stop()
        await engine.shutdown()
    }

    /// SIGHUP: reads the key files again. Open sessions stay; a file that cannot be read keeps
    /// the previous keys, all of them.
    private func reloadKeys(_ verifier: TokenVerifier, logger: Logger) {
        let paths = verifier.keyPaths
        do {
            let keys = try TokenKeySet(paths: paths)
            verifier.replaceKeys(with: keys)
            logger.notice("reloaded the token keys", metadata: ["keys": "\(keys.keys.map(\.id).joined(separator: ", "))"])
        } catch {
            logger.error("cannot reload the token keys; keeping the previous ones", metadata: ["error": "\(error)"])
        }
    }

    /// The engine's configuration, on the database when one is named, else on the data directory.
    private func makeEngineConfiguration(_ environment: OptionSources, database: PostgresDocumentStore?, logger: Logger)
        throws -> SyncEngine<TodoList>.Configuration
    {
        let dataDirectory = try environment.value(data, "DATA", default: "./data")
        let store: any DocumentStore =
            database ?? FileDocumentStore(configuration: .init(dataDirectory: dataDirectory), logger: logger)
        var configuration = SyncEngine<TodoList>.Configuration(store: store)
        configuration.maximumDocuments = try positive(
            environment.value(maxDocuments, "MAX_DOCUMENTS", default: configuration.maximumDocuments),
            "--max-documents")
        var limits = configuration.limits
        limits.maximumDocumentBytes = try positive(
            environment.value(maxDocumentBytes, "MAX_DOCUMENT_BYTES", default: limits.maximumDocumentBytes),
            "--max-document-bytes")
        limits.maximumMembers = try positive(
            environment.value(maxMembers, "MAX_MEMBERS", default: limits.maximumMembers), "--max-members")
        limits.maximumStringBytes = try positive(
            environment.value(maxStringBytes, "MAX_STRING_BYTES", default: limits.maximumStringBytes),
            "--max-string-bytes")
        configuration.limits = limits
        return configuration
    }

    private func makeServerConfiguration(_ environment: OptionSources) throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        let port = try environment.value(port, "PORT", default: 3333)
        let host = try environment.value(host, "HOST", default: "127.0.0.1")
        let unixGroup = try environment.optionalValue(unixGroup, "UNIX_GROUP")
        if let path = try environment.optionalValue(unix, "UNIX") {
            configuration.listener = .unix(path: path)
            configuration.unixSocketGroup = unixGroup
        } else {
            guard (0...65535).contains(port) else { throw ValidationError("--port: \(port) is outside 0...65535") }
            configuration.listener = .tcp(host: host, port: port)
        }
        configuration.maximumMessageBytes = try positive(
            environment.value(maxMessageBytes, "MAX_MESSAGE_BYTES", default: configuration.maximumMessageBytes),
            "--max-message-bytes")
        configuration.outboundQueueLimitBytes = try positive(
            environment.value(maxQueueBytes, "MAX_QUEUE_BYTES", default: configuration.outboundQueueLimitBytes),
            "--max-queue-bytes")
        configuration.closeTimeoutSeconds = try positive(
            environment.value(closeTimeout, "CLOSE_TIMEOUT", default: configuration.closeTimeoutSeconds),
            "--close-timeout")
        configuration.allowedOrigins = environment.list(allowOrigin, "ALLOW_ORIGIN")
        configuration.credentials = .init(
            token: try environment.optionalValue(token, "TOKEN"),
            readToken: try environment.optionalValue(readToken, "READ_TOKEN"))
        if let token = configuration.credentials.token, token == configuration.credentials.readToken {
            throw ValidationError("--token and --read-token must differ")
        }
        let keyPaths = environment.list(jwtKey, "JWT_KEY")
        if !keyPaths.isEmpty {
            do {
                configuration.credentials.tokenVerifier = TokenVerifier(keys: try TokenKeySet(paths: keyPaths))
            } catch {
                throw ValidationError("--jwt-key: \(error)")
            }
        }

        var limits = configuration.limits
        limits.maximumConnections = try nonNegative(
            environment.value(maxConnections, "MAX_CONNECTIONS", default: limits.maximumConnections),
            "--max-connections")
        limits.maximumConnectionsPerAddress = try nonNegative(
            environment.value(
                maxConnectionsPerAddress, "MAX_CONNECTIONS_PER_ADDRESS", default: limits.maximumConnectionsPerAddress),
            "--max-connections-per-address")
        limits.messagesPerSecond = try environment.value(
            maxMessagesPerSecond, "MAX_MESSAGES_PER_SECOND", default: limits.messagesPerSecond)
        guard limits.messagesPerSecond >= 0, limits.messagesPerSecond.isFinite else {
            throw ValidationError("--max-messages-per-second must be 0 or more")
        }
        limits.messageBurst = try positive(
            environment.value(messageBurst, "MESSAGE_BURST", default: limits.messageBurst), "--message-burst")
        configuration.limits = limits

        let ping = try positive(
            environment.value(pingInterval, "PING_INTERVAL", default: configuration.keepalive.pingAfterSeconds),
            "--ping-interval")
        let drop = try environment.value(pingTimeout, "PING_TIMEOUT", default: max(configuration.keepalive.dropAfterSeconds, ping * 2))
        guard drop > ping, drop <= 65535 else {
            throw ValidationError("--ping-timeout must be more than --ping-interval (and at most 65535)")
        }
        configuration.keepalive = .init(pingAfterSeconds: ping, dropAfterSeconds: drop)
        configuration.compression = !(noCompression || environment.flag("NO_COMPRESSION"))
        configuration.coalescePatches = !(noCoalesce || environment.flag("NO_COALESCE"))
        let proxies = environment.list(trustedProxy, "TRUSTED_PROXY")
        if !proxies.isEmpty {
            configuration.trustedProxies = proxies
        }
        return configuration
    }

    /// The PostgreSQL store when a database is named; nil: the file store.
    private func makeDatabaseStore(_ environment: OptionSources, logger: Logger) throws -> PostgresDocumentStore? {
        let schema = try environment.value(databaseSchema, "DATABASE_SCHEMA", default: "patchsync")
        let interval = try environment.value(databaseCheckInterval, "DATABASE_CHECK_INTERVAL", default: 5.0)
        guard let url = try environment.optionalValue(database, "DATABASE") else { return nil }
        guard interval > 0, interval.isFinite else {
            throw ValidationError("--database-check-interval must be more than 0 seconds")
        }
        guard PostgresStoreConfiguration.isValidSchemaName(schema) else {
            throw ValidationError("--database-schema: '\(schema)' must be lower-case letters, digits and _ (at most 63)")
        }
        return try PostgresDocumentStore(
            configuration: .init(url: url, schema: schema, checkInterval: .milliseconds(Int64(interval * 1000))),
            logger: logger)
    }

    /// With the PostgreSQL store, presence spans the instances sharing it.
    private func makePresenceBus(_ environment: OptionSources, store: PostgresDocumentStore?, logger: Logger) throws
        -> PostgresPresenceBus?
    {
        let timeout = try environment.value(databasePresenceTimeout, "DATABASE_PRESENCE_TIMEOUT", default: 20.0)
        guard let store else { return nil }
        guard timeout >= 1, timeout.isFinite else {
            throw ValidationError("--database-presence-timeout must be at least 1 second")
        }
        return PostgresPresenceBus(
            configuration: store.configuration, timeout: .milliseconds(Int64(timeout * 1000)), logger: logger)
    }

    private func positive(_ value: Int, _ option: String) throws -> Int {
        guard value > 0 else { throw ValidationError("\(option) must be at least 1, got \(value)") }
        return value
    }

    private func nonNegative(_ value: Int, _ option: String) throws -> Int {
        guard value >= 0 else { throw ValidationError("\(option) must be 0 or more, got \(value)") }
        return value
    }

    /// Sets the soft descriptor limit to `wanted` (the sessions plus room for HTTP clients, the
    /// documents' files and the database), raising the usual 1024 or lowering a generous one.
    /// libwebsockets sizes its descriptor table from this limit: one pointer per descriptor,
    /// zeroed, so a limit of a million costs 8 MiB; a smaller table passed as
    /// `fd_limit_per_thread` instead makes lws find every socket by a linear scan, a cost per
    /// event that grows with the connections.
    private func setFileLimit(_ wanted: Int) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        limit.rlim_cur = min(limit.rlim_max, rlim_t(wanted))
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    }
}
