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
        case closed(SyncClientError)
    }

    struct PendingReply {
        let connection: WebSocketConnectionID
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

        mutating func takeToken() -> UInt64 {
            defer { nextToken += 1 }
            return nextToken
        }
    }

    let configuration: SyncClient.Configuration
    let logger: Logger
    let loop: WebSocketClientLoop
    let state = Mutex(State())

    init(configuration: SyncClient.Configuration, logger: Logger, loop: WebSocketClientLoop) {
        self.configuration = configuration
        self.logger = logger
        self.loop = loop
    }

    private var urlText: String { configuration.url.description }

    private func openConnection() -> WebSocketConnectionID {
        loop.open(
            configuration.url, options: configuration.connectionOptions,
            handler: SyncClientConnectionHandler(core: self))
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
            case .open:
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
            guard case .open = state.phase, let connection = state.connection else {
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
            state.replies[id] = PendingReply(connection: connection, continuation: continuation, timeout: timeout)
            loop.send(bytes, on: connection)
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
            case .closing, .closed:
                return (nil, [])
            }
        }
        subscribers.forEach { $0.finish() }
        return connection
    }

    func waitUntilClosed(_ continuation: Waiter<Void>) {
        state.withLock { state in
            switch state.phase {
            case .idle, .closed:
                continuation.resume(returning: .success(()))
            case .connecting, .open, .closing:
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
    private static func applyPatch(_ message: JSONValue, to state: inout State) -> String? {
        let version = version(of: message)
        if let version, let current = state.version, version != current + 1 {
            return "Patch version \(version) does not follow \(current)"
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

    func connectionEnded(_ connection: WebSocketConnectionID, with error: SyncClientError) {
        let subscribers = state.withLock { state -> [AsyncStream<JSONValue>.Continuation] in
            guard state.connection == connection else { return [] }
            state.phase = .closed(error)
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
        subscribers.forEach { $0.finish() }
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
