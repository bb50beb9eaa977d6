import ArgumentParser
import Glibc
import Logging
import SyncClient
import SyncServer

/// Connection options shared by `watch` and `send`.
struct ClientConnectionOptions: ParsableArguments {
    @Argument(help: "The server's WebSocket URL, e.g. ws://127.0.0.1:3333/ws (wss:// for TLS)")
    var url: String

    @OptionGroup var bearerToken: BearerTokenOption

    @OptionGroup var caFile: CAFileOption

    @Option(help: "Seconds to wait for the connection, the first Full, and a reply.")
    var timeout: Double = 10

    @Option(help: "The member of the Full message that holds the document.")
    var stateKey: String = "todo"

    @Option(help: "Largest server message accepted, in bytes; larger ones close the connection.")
    var maxMessageSize: Int = 1 << 20

    func validate() throws {
        guard timeout > 0, timeout <= 86_400 else { throw ValidationError("--timeout must be between 0 and 86400 seconds") }
        guard maxMessageSize > 0 else { throw ValidationError("--max-message-size must be positive") }
    }

    func clientConfiguration() throws(SyncClientError) -> SyncClient.Configuration {
        let wait = Duration.milliseconds(Int64(timeout * 1000))
        return SyncClient.Configuration(
            url: try WebSocketURL(parsing: url), stateKey: stateKey, connectTimeout: wait, replyTimeout: wait,
            bearerToken: bearerToken.value,
            maximumMessageSize: maxMessageSize, caFilePath: caFile.path)
    }
}

/// Client diagnostics go to stderr so that stdout carries only messages. `PATCHSYNC_LOG_LEVEL`
/// (trace ... critical) raises or lowers the level; the default is warning.
func makeClientLogger(label: String) -> Logger {
    var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
    let configured = getenv("PATCHSYNC_LOG_LEVEL").map { String(cString: $0) }
    logger.logLevel = configured.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .warning
    // lws warnings repeat what the client reports as its error (e.g. a 401 handshake), so
    // by default only lws errors are shown.
    var libwebsocketsLogger = logger
    if configured == nil { libwebsocketsLogger.logLevel = .error }
    LibWebsocketsLog.route(to: libwebsocketsLogger)
    return logger
}

/// Writes one line to stderr, prefixed with the command's name. Goes to file descriptor 2
/// directly: Glibc's `stderr` is a global Swift 6 will not share.
func printError(_ command: String, _ message: String) {
    var line = "patchsync \(command): \(message)\n"
    line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}
