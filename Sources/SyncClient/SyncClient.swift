import JSONPatch
import Logging

/// A client of a patchsync server: keeps a mirror of one document from `Full` and `Patch`
/// messages, and sends actions.
///
/// Each client has its own libwebsockets context and service thread. Use it from any task:
///
///     let client = try SyncClient(configuration: .init(url: "ws://127.0.0.1:3333/ws"), logger: logger)
///     try await client.connect()
///     let reply = try await client.send(action: ["type": "ChangeName", "name": "Groceries"])
///     print(client.state, client.version)
///     await client.close()
///
/// When a Patch does not apply to the mirror, or its version skips one, the client reconnects
/// to get a fresh `Full`; replies awaited on the old connection fail with `closed`. With
/// `Configuration.reconnect` set, a lost connection is opened again (see `ReconnectPolicy`).
public final class SyncClient: Sendable {
    public let configuration: Configuration
    let core: SyncClientCore

    public init(configuration: Configuration, logger: Logger) throws(SyncClientError) {
        let loop = try WebSocketClientLoop(
            configuration: WebSocketClientLoop.Configuration(
                connectTimeoutSeconds: configuration.connectTimeoutSeconds, tls: configuration.tls,
                offersCompression: configuration.offersCompression),
            logger: logger)
        self.configuration = configuration
        core = SyncClientCore(configuration: configuration, logger: logger, loop: loop)
    }

    deinit {
        core.prepareForShutdown()
        core.loop.shutdown()
    }

    /// Opens the WebSocket and returns once the first `Full` has arrived.
    public func connect() async throws(SyncClientError) {
        let result: Result<Void, SyncClientError> = await withCheckedContinuation { core.connect($0) }
        try result.get()
    }

    /// The mirrored document (the `Full`'s `stateKey` member, patched since); `null` before the first Full.
    public var state: JSONValue {
        core.state.withLock { $0.document }
    }

    /// The document version of the mirror; nil before the first Full or from a server without versions.
    public var version: UInt64? {
        core.state.withLock { $0.version }
    }

    /// Sends one action with an added `id` (replacing any the action has) and waits for the
    /// matching `Ack` or `Error`. An `Ack` arrives after the Patch it caused, so `state` already
    /// shows the change when this returns.
    public func send(action: JSONValue) async throws(SyncClientError) -> Reply {
        guard case .object(let object) = action else {
            throw .invalidAction(reason: "an action must be a JSON object, not \(action.typeName)")
        }
        let result: Result<Reply, SyncClientError> = await withCheckedContinuation { core.send(object, $0) }
        return try result.get()
    }

    /// Waits until the mirror has reached `version` (at most `replyTimeout`) and returns the document.
    public func waitForVersion(_ version: UInt64) async throws(SyncClientError) -> JSONValue {
        let result: Result<JSONValue, SyncClientError> = await withCheckedContinuation {
            core.waitForVersion(version, $0)
        }
        return try result.get()
    }

    /// Every message from the server from now on, decoded, in arrival order. The stream ends when
    /// the connection closes. Subscribe before `connect()` to see the first `Full`.
    public func messages() -> AsyncStream<JSONValue> {
        core.subscribe()
    }

    /// The error the connection ended with; nil while it is open or not yet opened.
    public var closeError: SyncClientError? {
        core.state.withLock { state in
            if case .closed(let error) = state.phase { return error }
            return nil
        }
    }

    /// Waits until the server closes the connection (or it is lost) and returns why;
    /// `notConnected` at once when `connect()` was never called.
    public func waitUntilClosed() async -> SyncClientError {
        _ = await withCheckedContinuation { core.waitUntilClosed($0) }
        return closeError ?? .notConnected
    }

    /// Closes with status 1000, waits briefly for the server's close, and stops the service thread.
    public func close() async {
        if let connection = core.beginClose() {
            core.loop.close(connection, code: 1000, reason: "client closed")
            // A server that never answers the close is cut off by the shutdown below.
            let deadline = Task { [core] in
                try? await Task.sleep(for: .seconds(2))
                if !Task.isCancelled { core.loop.shutdown() }
            }
            _ = await withCheckedContinuation { core.waitUntilClosed($0) }
            deadline.cancel()
        }
        core.prepareForShutdown()
        core.loop.shutdown()
    }
}
