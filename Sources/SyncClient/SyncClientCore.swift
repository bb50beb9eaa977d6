import JSONCodec
import JSONPatch
import Logging
import SyncProtocol
import Synchronization

/// The waiters of one `SyncClient` and the effects of its `SyncClientStateMachine`, shared by
/// the caller's tasks and the loop's service thread. The machine decides; this type owns what
/// cannot be tested without a server: connections, continuations, timers and streams.
/// Continuations are resumed under the lock (resuming only schedules a task); streams are
/// finished outside it, because finishing runs their termination handlers.
final class SyncClientCore: Sendable {
    typealias Waiter<Value> = CheckedContinuation<Result<Value, SyncClientError>, Never>

    struct PendingVersion {
        let version: UInt64
        let continuation: Waiter<JSONValue>
        let timeout: Task<Void, Never>
    }

    struct State {
        var machine: SyncClientStateMachine
        var nextToken: UInt64 = 1
        var connectWaiters: [UInt64: (continuation: Waiter<Void>, timeout: Task<Void, Never>)] = [:]
        var replies: [Int64: (continuation: Waiter<SyncClient.Reply>, timeout: Task<Void, Never>)] = [:]
        var versionWaiters: [UInt64: PendingVersion] = [:]
        var closeWaiters: [UInt64: Waiter<Void>] = [:]
        var subscribers: [UInt64: AsyncStream<JSONValue>.Continuation] = [:]
        var reconnectTask: Task<Void, Never>?

        var document: JSONValue { machine.document }
        var version: UInt64? { machine.version }
        var phase: SyncClientStateMachine.Phase { machine.phase }

        mutating func takeToken() -> UInt64 {
            defer { nextToken += 1 }
            return nextToken
        }
    }

    let configuration: SyncClient.Configuration
    let logger: Logger
    let loop: WebSocketClientLoop
    let state: Mutex<State>
    /// The `?client=` ID of a reconnecting client, random per instance: with the action ids
    /// counting from 1, it makes every action of this instance unique to the server.
    let clientID: String?

    init(configuration: SyncClient.Configuration, logger: Logger, loop: WebSocketClientLoop) {
        self.configuration = configuration
        self.logger = logger
        self.loop = loop
        state = Mutex(
            State(machine: SyncClientStateMachine(stateKey: configuration.stateKey, reconnectPolicy: configuration.reconnect)))
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

    /// Carries out the machine's actions, under the lock; returns the streams to finish outside it.
    private func perform(_ actions: [SyncClientStateMachine.Action], _ state: inout State)
        -> [AsyncStream<JSONValue>.Continuation]
    {
        var finished: [AsyncStream<JSONValue>.Continuation] = []
        for action in actions {
            switch action {
            case .openConnection(let since):
                state.machine.connectionStarted(openConnection(resumingAfter: since))
            case .send(let bytes, let connection):
                loop.send(bytes, on: connection)
            case .closeConnection(let connection, let reason):
                loop.close(connection, code: 1000, reason: reason)
            case .applyFull:
                for (_, waiter) in state.connectWaiters {
                    waiter.timeout.cancel()
                    waiter.continuation.resume(returning: .success(()))
                }
                state.connectWaiters = [:]
            case .applyPatch:
                break  // version waiters are checked after every message
            case .resolve(let id, let reply):
                if let waiter = state.replies.removeValue(forKey: id) {
                    waiter.timeout.cancel()
                    waiter.continuation.resume(returning: .success(reply))
                }
            case .fail(let ids, let error):
                for id in ids {
                    guard let waiter = state.replies.removeValue(forKey: id) else { continue }
                    waiter.timeout.cancel()
                    waiter.continuation.resume(returning: .failure(error))
                }
            case .reconnect(let delay):
                logger.info(
                    "connection lost; reconnecting",
                    metadata: ["url": "\(urlText)", "delay": "\(delay)", "attempt": "\(state.machine.failedReconnects)"])
                state.reconnectTask = Task { [self] in
                    try? await Task.sleep(for: delay)
                    guard !Task.isCancelled else { return }
                    self.state.withLock { state in
                        _ = perform(state.machine.reconnectTimerFired(), &state)
                    }
                }
            case .giveUp(let error):
                finished += Self.finish(&state, with: error)
            case .warn(let message):
                logger.warning("\(message)", metadata: ["url": "\(urlText)"])
            }
        }
        return finished
    }

    // MARK: Caller side

    func connect(_ continuation: Waiter<Void>) {
        state.withLock { state in
            let result: (wait: Bool, actions: [SyncClientStateMachine.Action])
            do throws(SyncClientError) {
                result = try state.machine.connect()
            } catch {
                continuation.resume(returning: .failure(error))
                return
            }
            _ = perform(result.actions, &state)
            guard result.wait else {
                continuation.resume(returning: .success(()))
                return
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
            return state.machine.connection
        }
        if let connection { loop.close(connection, code: 1000, reason: "connect timed out") }
    }

    func send(_ action: JSONObject, _ continuation: Waiter<SyncClient.Reply>) {
        state.withLock { state in
            let sent: (id: Int64, actions: [SyncClientStateMachine.Action])
            do throws(SyncClientStateMachine.SendRefusal) {
                sent = try state.machine.send(action)
            } catch {
                switch error {
                case .notConnected: continuation.resume(returning: .failure(.notConnected))
                case .unencodable(let reason): continuation.resume(returning: .failure(.invalidAction(reason: reason)))
                }
                return
            }
            let id = sent.id
            let timeout = timeoutTask(after: configuration.replyTimeout) { [self] in
                replyTimedOut(id)
            }
            state.replies[id] = (continuation, timeout)
            _ = perform(sent.actions, &state)
        }
    }

    private func replyTimedOut(_ id: Int64) {
        state.withLock { state in
            _ = state.machine.replyTimedOut(id)
            state.replies.removeValue(forKey: id)?.continuation.resume(
                returning: .failure(.timedOut(operation: "waiting for the reply to action \(id)", seconds: configuration.replyTimeout.seconds)))
        }
    }

    func waitForVersion(_ version: UInt64, _ continuation: Waiter<JSONValue>) {
        state.withLock { state in
            if state.machine.hasFull, let current = state.version, current >= version {
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
            state.reconnectTask?.cancel()
            var connection: WebSocketConnectionID?
            var rest: [SyncClientStateMachine.Action] = []
            for action in state.machine.close() {
                if case .closeConnection(let id, _) = action { connection = id } else { rest.append(action) }
            }
            return (connection, perform(rest, &state))
        }
        subscribers.forEach { $0.finish() }
        return connection
    }

    /// Stops reconnecting for good: the loop is about to shut down.
    func prepareForShutdown() {
        state.withLock { state in
            state.machine.prepareForShutdown()
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
        let decoded = Result { () throws(ServerMessageError) in
            try ServerMessage(json: value, stateKey: configuration.stateKey)
        }
        let (subscribers, finished) = state.withLock { state -> ([AsyncStream<JSONValue>.Continuation], [AsyncStream<JSONValue>.Continuation]) in
            guard state.machine.connection == connection else { return ([], []) }
            let finished = perform(state.machine.received(decoded, json: value, on: connection), &state)
            if let current = state.version, state.machine.hasFull {
                for (token, waiter) in state.versionWaiters where waiter.version <= current {
                    state.versionWaiters[token] = nil
                    waiter.timeout.cancel()
                    waiter.continuation.resume(returning: .success(state.document))
                }
            }
            return (Array(state.subscribers.values), finished)
        }
        for subscriber in subscribers { subscriber.yield(value) }
        finished.forEach { $0.finish() }
    }

    /// The connection is open: after a reconnection, the actions awaiting their reply go out again.
    func connectionOpened(_ connection: WebSocketConnectionID) {
        let resent = state.withLock { state -> Int? in
            let isReconnection = state.machine.phase == .reconnecting && state.machine.connection == connection
            let actions = state.machine.connectionOpened(connection)
            _ = perform(actions, &state)
            return isReconnection ? actions.count : nil
        }
        if let resent { logger.info("reconnected", metadata: ["url": "\(urlText)", "resent": "\(resent)"]) }
    }

    func connectionEnded(_ connection: WebSocketConnectionID, with error: SyncClientError) {
        let subscribers = state.withLock { state -> [AsyncStream<JSONValue>.Continuation] in
            var generator = SystemRandomNumberGenerator()
            return perform(state.machine.connectionEnded(connection, with: error, using: &generator), &state)
        }
        subscribers.forEach { $0.finish() }
    }

    /// Ends the client: every waiter hears `error`; returns the streams to finish outside the lock.
    private static func finish(_ state: inout State, with error: SyncClientError) -> [AsyncStream<JSONValue>.Continuation] {
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
