import JSONCodec
import JSONPatch
import Logging
import Synchronization

/// The mirror and the waiters of one `SyncClient`, shared by the caller's tasks and the loop's
/// service thread. Continuations are resumed under the lock (resuming only schedules a task);
/// streams are finished outside it, because finishing runs their termination handlers.
final class SyncClientCore: Sendable {
    typealias Waiter<Value> = CheckedContinuation<Result<Value, SyncClientError>, Never>

    enum Phase {
        case idle, connecting, open, closing
        /// The connection was lost and `configuration.reconnect` is set: waiting to connect again.
        case reconnecting
        case closed(SyncClientError)
    }

    struct PendingReply {
        /// The connection the action went out on; nil while waiting to reconnect.
        var connection: WebSocketConnectionID?
        /// The action as sent, to send again with the same id after a reconnection.
        let bytes: [UInt8]
        let continuation: Waiter<SyncClient.Reply>
        let timeout: Task<Void, Never>
    }

    struct PendingVersion {
        let version: UInt64
        let continuation: Waiter<JSONValue>
        let timeout: Task<Void, Never>
    }

    struct State {
        var phase = Phase.idle
        /// The connection whose messages count; messages of an older one (before a resync) are ignored.
        var connection: WebSocketConnectionID?
        var document = JSONValue.null
        var version: UInt64?
        var hasFull = false
        var nextActionID: Int64 = 1
        var nextToken: UInt64 = 1
        var connectWaiters: [UInt64: (continuation: Waiter<Void>, timeout: Task<Void, Never>)] = [:]
        var replies: [Int64: PendingReply] = [:]
        var versionWaiters: [UInt64: PendingVersion] = [:]
        var closeWaiters: [UInt64: Waiter<Void>] = [:]
        var subscribers: [UInt64: AsyncStream<JSONValue>.Continuation] = [:]
        /// Reconnection attempts that failed since the connection was last open.
        var failedReconnects = 0
        var reconnectTask: Task<Void, Never>?
        /// Set before the loop shuts down, whose closing connections must not be reconnected.
        var isShuttingDown = false

        mutating func takeToken() -> UInt64 {
            defer { nextToken += 1 }
            return nextToken
        }
    }

    let configuration: SyncClient.Configuration
    let logger: Logger
    let loop: WebSocketClientLoop
    let state = Mutex(State())
    /// The `?client=` ID of a reconnecting client, random per instance: with the action ids
    /// counting from 1, it makes every action of this instance unique to the server.
    let clientID: String?

    init(configuration: SyncClient.Configuration, logger: Logger, loop: WebSocketClientLoop) {
        self.configuration = configuration
        self.logger = logger
        self.loop = loop
        clientID = configuration.reconnect == nil ? nil : Self.randomClientID()
    }

    private var urlText: String { configuration.url.description }

    /// Connects; `since` resumes after that version instead of asking for a Full.
    private func openConnection(resumingAfter since: UInt64? = nil) -> WebSocketConnectionID {
        var url = configuration.url
        if let clientID { url = url.settingQueryArgument("client", to: clientID) }
        if let since { url = url.settingQueryArgument("since", to: String(since)) }
        return loop.open(url, options: configuration.connectionOptions, handler: SyncClientConnectionHandler(core: self))
    }

    private static func randomClientID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet.randomElement(using: &generator)! })
    }

    private func timeoutTask(after duration: Duration, _ expire: @escaping @Sendable () -> Void) -> Task<Void, Never> {
        Task {
            try? await Task.sleep(for: duration)
            if !Task.isCancelled { expire() }
        }
    }

    // MARK: Caller side

    func connect(_ continuation: Waiter<Void>) {
        state.withLock { state in
            switch state.phase {
            case .open, .reconnecting:
                // A reconnecting client is connected as far as its caller is concerned.
                continuation.resume(returning: .success(()))
                return
            case .closing, .closed:
                continuation.resume(returning: .failure(.notConnected))
                return
            case .idle:
                state.phase = .connecting
                state.connection = openConnection()
            case .connecting:
                break
            }
            let token = state.takeToken()
            let timeout = timeoutTask(after: configuration.connectTimeout) { [self] in
                connectTimedOut(token)
            }
            state.connectWaiters[token] = (continuation, timeout)
        }
    }

    private func connectTimedOut(_ token: UInt64) {
        let connection = state.withLock { state -> WebSocketConnectionID? in
            guard let waiter = state.connectWaiters.removeValue(forKey: token) else { return nil }
            waiter.continuation.resume(
                returning: .failure(.timedOut(operation: "connecting to \(urlText)", seconds: configuration.connectTimeout.seconds)))
            return state.connection
        }
        if let connection { loop.close(connection, code: 1000, reason: "connect timed out") }
    }

    func send(_ action: JSONObject, _ continuation: Waiter<SyncClient.Reply>) {
        state.withLock { state in
            let connection: WebSocketConnectionID?
            switch state.phase {
            case .open: connection = state.connection
            case .reconnecting: connection = nil  // sent once connected again
            default:
                continuation.resume(returning: .failure(.notConnected))
                return
            }
            let id = state.nextActionID
            var action = action
            action["id"] = .integer(id)
            let bytes: [UInt8]
            do {
                bytes = try JSONCodec.encode(.object(action))
            } catch {
                continuation.resume(returning: .failure(.invalidAction(reason: "\(error)")))
                return
            }
            state.nextActionID += 1
            let timeout = timeoutTask(after: configuration.replyTimeout) { [self] in
                replyTimedOut(id)
            }
            state.replies[id] = PendingReply(
                connection: connection, bytes: bytes, continuation: continuation, timeout: timeout)
            if let connection { loop.send(bytes, on: connection) }
        }
    }

    private func replyTimedOut(_ id: Int64) {
        state.withLock { state in
            state.replies.removeValue(forKey: id)?.continuation.resume(
                returning: .failure(.timedOut(operation: "waiting for the reply to action \(id)", seconds: configuration.replyTimeout.seconds)))
        }
    }

    func waitForVersion(_ version: UInt64, _ continuation: Waiter<JSONValue>) {
        state.withLock { state in
            if state.hasFull, let current = state.version, current >= version {
                continuation.resume(returning: .success(state.document))
                return
            }
            if case .closed(let error) = state.phase {
                continuation.resume(returning: .failure(error))
                return
            }
            let token = state.takeToken()
            let timeout = timeoutTask(after: configuration.replyTimeout) { [self] in
                versionTimedOut(token)
            }
            state.versionWaiters[token] = PendingVersion(version: version, continuation: continuation, timeout: timeout)
        }
    }

    private func versionTimedOut(_ token: UInt64) {
        state.withLock { state in
            guard let waiter = state.versionWaiters.removeValue(forKey: token) else { return }
            waiter.continuation.resume(
                returning: .failure(.timedOut(operation: "waiting for version \(waiter.version)", seconds: configuration.replyTimeout.seconds)))
        }
    }

    func subscribe() -> AsyncStream<JSONValue> {
        let (stream, continuation) = AsyncStream.makeStream(of: JSONValue.self)
        let token = state.withLock { state -> UInt64? in
            if case .closed = state.phase { return nil }
            let token = state.takeToken()
            state.subscribers[token] = continuation
            return token
        }
        guard let token else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: token) }
        }
        return stream
    }

    /// Asks the server to close; returns the connection to wait for, or nil when there is none.
    func beginClose() -> WebSocketConnectionID? {
        let (connection, subscribers) = state.withLock { state -> (WebSocketConnectionID?, [AsyncStream<JSONValue>.Continuation]) in
            switch state.phase {
            case .connecting, .open:
                state.phase = .closing
                return (state.connection, [])
            case .idle:
                state.phase = .closed(.notConnected)
                defer { state.subscribers = [:] }
                return (nil, Array(state.subscribers.values))
            case .reconnecting:
                state.reconnectTask?.cancel()
                if let connection = state.connection {
                    state.phase = .closing
                    return (connection, [])
                }
                return (nil, Self.finish(&state, with: .notConnected))
            case .closing, .closed:
                return (nil, [])
            }
        }
        subscribers.forEach { $0.finish() }
        return connection
    }

    /// Stops reconnecting for good: the loop is about to shut down.
    func prepareForShutdown() {
        state.withLock { state in
            state.isShuttingDown = true
            state.reconnectTask?.cancel()
        }
    }

    func waitUntilClosed(_ continuation: Waiter<Void>) {
        state.withLock { state in
            switch state.phase {
            case .idle, .closed:
                continuation.resume(returning: .success(()))
            case .connecting, .open, .closing, .reconnecting:
                state.closeWaiters[state.takeToken()] = continuation
            }
        }
    }

    // MARK: Service thread

    func receive(_ message: UnsafeRawBufferPointer, isBinary: Bool, on connection: WebSocketConnectionID) {
        guard !isBinary else {
            logger.warning("ignoring a binary message from the server", metadata: ["url": "\(urlText)"])
            return
        }
        let value: JSONValue
        do {
            value = try JSONCodec.decode([UInt8](message))
        } catch {
            logger.warning("ignoring a server message that is not JSON", metadata: ["error": "\(error)"])
            return
        }
        var resyncReason: String?
        let subscribers = state.withLock { state -> [AsyncStream<JSONValue>.Continuation] in
            guard state.connection == connection else { return [] }
            switch value["type"]?.stringValue {
            case "Full":
                guard let document = value[configuration.stateKey] else {
                    logger.warning("Full message without '\(configuration.stateKey)'")
                    break
                }
                state.document = document
                state.version = Self.version(of: value)
                state.hasFull = true
                if case .connecting = state.phase { state.phase = .open }
                for (_, waiter) in state.connectWaiters {
                    waiter.timeout.cancel()
                    waiter.continuation.resume(returning: .success(()))
                }
                state.connectWaiters = [:]
            case "Patch":
                guard state.hasFull else { break }
                resyncReason = Self.applyPatch(value, to: &state)
            case "Ack", "Error":
                if let reply = SyncClient.Reply(value), let id = value["id"]?.integerValue,
                    let pending = state.replies.removeValue(forKey: id)
                {
                    pending.timeout.cancel()
                    pending.continuation.resume(returning: .success(reply))
                }
            default:
                break
            }
            if let current = state.version, state.hasFull {
                for (token, waiter) in state.versionWaiters where waiter.version <= current {
                    state.versionWaiters[token] = nil
                    waiter.timeout.cancel()
                    waiter.continuation.resume(returning: .success(state.document))
                }
            }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.yield(value) }
        if let resyncReason { resynchronize(because: resyncReason) }
    }

    private static func version(of message: JSONValue) -> UInt64? {
        message["version"]?.integerValue.flatMap { UInt64(exactly: $0) }
    }

    /// Applies a Patch to the mirror; returns why the mirror is out of step when it cannot.
    /// A Patch applies to the version named by its `from` (several versions when the server
    /// coalesced them), or to `version - 1` from a server that does not send `from`.
    private static func applyPatch(_ message: JSONValue, to state: inout State) -> String? {
        let version = version(of: message)
        let from = message["from"]?.integerValue.flatMap { UInt64(exactly: $0) } ?? version.map { $0 &- 1 }
        if let from, let current = state.version, from != current {
            return "Patch from version \(from) does not follow \(current)"
        }
        do {
            let patch = try JSONPatch(json: message["ops"] ?? .null)
            state.document = try patch.apply(to: state.document)
        } catch {
            return "Patch \(version.map(String.init) ?? "") does not apply: \(error)"
        }
        if let version { state.version = version }
        return nil
    }

    /// The mirror cannot follow the patches any more: connect again for a fresh Full. Replies
    /// awaited on the old connection will never come, so they fail.
    private func resynchronize(because reason: String) {
        logger.warning("mirror out of step, reconnecting for a fresh Full", metadata: ["reason": "\(reason)"])
        let old = state.withLock { state -> WebSocketConnectionID? in
            guard case .open = state.phase, let old = state.connection else { return nil }
            state.connection = openConnection()
            state.hasFull = false
            let error = SyncClientError.closed(code: nil, reason: "reconnected to resynchronise: \(reason)")
            for (id, pending) in state.replies where pending.connection == old {
                state.replies[id] = nil
                pending.timeout.cancel()
                pending.continuation.resume(returning: .failure(error))
            }
            return old
        }
        if let old { loop.close(old, code: 1000, reason: "resynchronising") }
    }

    /// The connection is open: after a reconnection, the actions still awaiting their reply go
    /// out again, in order and with their ids, so the server answers each exactly once.
    func connectionOpened(_ connection: WebSocketConnectionID) {
        let resent = state.withLock { state -> Int in
            guard state.connection == connection, case .reconnecting = state.phase else { return -1 }
            state.phase = .open
            state.failedReconnects = 0
            for id in state.replies.keys.sorted() {
                guard let bytes = state.replies[id]?.bytes else { continue }
                state.replies[id]?.connection = connection
                loop.send(bytes, on: connection)
            }
            return state.replies.count
        }
        if resent >= 0 { logger.info("reconnected", metadata: ["url": "\(urlText)", "resent": "\(resent)"]) }
    }

    func connectionEnded(_ connection: WebSocketConnectionID, with error: SyncClientError) {
        let subscribers = state.withLock { state -> [AsyncStream<JSONValue>.Continuation] in
            guard state.connection == connection else { return [] }
            if let policy = configuration.reconnect, !state.isShuttingDown {
                switch state.phase {
                case .open, .reconnecting:
                    scheduleReconnect(&state, policy: policy, after: error)
                    return []
                default:
                    break
                }
            }
            return Self.finish(&state, with: error)
        }
        subscribers.forEach { $0.finish() }
    }

    private func scheduleReconnect(_ state: inout State, policy: SyncClient.ReconnectPolicy, after error: SyncClientError) {
        state.phase = .reconnecting
        state.connection = nil
        for id in state.replies.keys { state.replies[id]?.connection = nil }
        var generator = SystemRandomNumberGenerator()
        let delay = policy.delay(afterFailures: state.failedReconnects, using: &generator)
        state.failedReconnects += 1
        logger.info(
            "connection lost; reconnecting",
            metadata: ["url": "\(urlText)", "error": "\(error)", "delay": "\(delay)", "attempt": "\(state.failedReconnects)"])
        state.reconnectTask = Task { [self] in
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return }
            self.state.withLock { state in
                guard case .reconnecting = state.phase, !state.isShuttingDown else { return }
                state.connection = openConnection(resumingAfter: state.hasFull ? state.version : nil)
            }
        }
    }

    /// Ends the client: every waiter hears `error`; returns the streams to finish outside the lock.
    private static func finish(_ state: inout State, with error: SyncClientError) -> [AsyncStream<JSONValue>.Continuation] {
        state.phase = .closed(error)
        state.reconnectTask?.cancel()
        for (_, waiter) in state.connectWaiters {
            waiter.timeout.cancel()
            waiter.continuation.resume(returning: .failure(error))
        }
        for (_, pending) in state.replies {
            pending.timeout.cancel()
            pending.continuation.resume(returning: .failure(error))
        }
        for (_, waiter) in state.versionWaiters {
            waiter.timeout.cancel()
            waiter.continuation.resume(returning: .failure(error))
        }
        for (_, waiter) in state.closeWaiters {
            waiter.resume(returning: .success(()))
        }
        state.connectWaiters = [:]
        state.replies = [:]
        state.versionWaiters = [:]
        state.closeWaiters = [:]
        defer { state.subscribers = [:] }
        return Array(state.subscribers.values)
    }
}

/// Routes one connection's events into its `SyncClientCore`.
final class SyncClientConnectionHandler: WebSocketConnectionHandler {
    let core: SyncClientCore

    init(core: SyncClientCore) {
        self.core = core
    }

    func connectionDidOpen(_ connection: WebSocketConnection) {
        core.logger.debug("WebSocket open", metadata: ["url": "\(connection.url)"])
        core.connectionOpened(connection.id)
    }

    func connection(_ connection: WebSocketConnection, didReceive message: UnsafeRawBufferPointer, isBinary: Bool) {
        core.receive(message, isBinary: isBinary, on: connection.id)
    }

    func connection(_ connection: WebSocketConnection, didCloseWith error: SyncClientError) {
        core.connectionEnded(connection.id, with: error)
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
