import JSONPatch
import SyncProtocol

/// The decisions of one `SyncClient`, free of sockets, threads and continuations: which
/// connection counts, the mirrored document, the actions awaiting their reply, and when to
/// reconnect or give up. Every event returns what `SyncClientCore` must do next, so the whole
/// life of a client is testable without a server (ServerTests' `SyncClientStateMachineTests`).
struct SyncClientStateMachine {
    enum Phase: Equatable {
        case idle, connecting, open, closing
        /// The connection was lost and reconnection is configured: waiting to connect again.
        case reconnecting
        case closed(SyncClientError)
    }

    /// What the core must do.
    enum Action: Equatable {
        /// Open a connection (resuming after a version when given) and report it with `connectionStarted`.
        case openConnection(resumingAfter: UInt64?)
        case send([UInt8], on: WebSocketConnectionID)
        case closeConnection(WebSocketConnectionID, reason: String)
        /// A Full replaced the mirror: the client is connected.
        case applyFull(version: UInt64?)
        /// A Patch moved the mirror on.
        case applyPatch(version: UInt64?)
        /// The reply to the action with this id arrived.
        case resolve(actionID: Int64, SyncClient.Reply)
        /// These actions will never get their reply.
        case fail(actionIDs: [Int64], SyncClientError)
        /// Wait, then tell the machine with `reconnectTimerFired`.
        case reconnect(after: Duration)
        /// The client is over: every waiter hears this error.
        case giveUp(SyncClientError)
        /// Something worth a warning in the log (a message the mirror cannot use, a resynchronisation).
        case warn(String)
    }

    /// An action sent and not yet answered.
    struct PendingAction: Equatable {
        /// The connection it went out on; nil while waiting to reconnect.
        var connection: WebSocketConnectionID?
        /// As sent, to send again with the same id after a reconnection.
        let bytes: [UInt8]
    }

    /// Why `send` refused an action.
    enum SendRefusal: Error, Equatable {
        case notConnected
        case unencodable(String)
    }

    let stateKey: String
    let reconnectPolicy: SyncClient.ReconnectPolicy?
    private(set) var phase = Phase.idle
    /// The connection whose messages count; messages of an older one (before a resync) are ignored.
    private(set) var connection: WebSocketConnectionID?
    private(set) var document = JSONValue.null
    private(set) var version: UInt64?
    private(set) var hasFull = false
    private(set) var pending: [Int64: PendingAction] = [:]
    private(set) var nextActionID: Int64 = 1
    /// Reconnection attempts that failed since the connection was last open.
    private(set) var failedReconnects = 0
    /// Set before the loop shuts down, whose closing connections must not be reconnected.
    private(set) var isShuttingDown = false

    init(stateKey: String, reconnectPolicy: SyncClient.ReconnectPolicy?) {
        self.stateKey = stateKey
        self.reconnectPolicy = reconnectPolicy
    }

    // MARK: Caller side

    /// `connect()`: true when the caller must wait for the first Full; false when it is already
    /// connected (a reconnecting client counts as connected). Throws when the client is closed.
    mutating func connect() throws(SyncClientError) -> (wait: Bool, actions: [Action]) {
        switch phase {
        case .open, .reconnecting: return (false, [])
        case .closing, .closed: throw .notConnected
        case .idle:
            phase = .connecting
            return (true, [.openConnection(resumingAfter: nil)])
        case .connecting: return (true, [])
        }
    }

    /// The core opened the connection an `openConnection` asked for.
    mutating func connectionStarted(_ id: WebSocketConnectionID) {
        connection = id
    }

    /// `send(action:)`: gives the action the next id; sends it now when open, or once reconnected.
    mutating func send(_ action: JSONObject) throws(SendRefusal) -> (id: Int64, actions: [Action]) {
        let on: WebSocketConnectionID?
        switch phase {
        case .open: on = connection
        case .reconnecting: on = nil
        default: throw .notConnected
        }
        let id = nextActionID
        let bytes: [UInt8]
        do {
            bytes = try ClientMessage.action(action).encoded(id: .integer(id))
        } catch {
            throw .unencodable("\(error)")
        }
        nextActionID += 1
        pending[id] = PendingAction(connection: on, bytes: bytes)
        return (id, on.map { [.send(bytes, on: $0)] } ?? [])
    }

    /// The reply to action `id` did not come in time: it is no longer awaited.
    mutating func replyTimedOut(_ id: Int64) -> Bool {
        pending.removeValue(forKey: id) != nil
    }

    /// `close()`: the connection to close, if any.
    mutating func close() -> [Action] {
        switch phase {
        case .connecting, .open:
            phase = .closing
            return connection.map { [.closeConnection($0, reason: "client closed")] } ?? []
        case .idle:
            return giveUp(.notConnected)
        case .reconnecting:
            if let connection {
                phase = .closing
                return [.closeConnection(connection, reason: "client closed")]
            }
            return giveUp(.notConnected)
        case .closing, .closed:
            return []
        }
    }

    /// The loop is about to shut down: never reconnect again.
    mutating func prepareForShutdown() {
        isShuttingDown = true
    }

    // MARK: Connection side

    /// A connection opened. After a reconnection, the actions still awaiting their reply go out
    /// again, in order and with their ids, so the server answers each exactly once.
    mutating func connectionOpened(_ id: WebSocketConnectionID) -> [Action] {
        guard connection == id, phase == .reconnecting else { return [] }
        phase = .open
        failedReconnects = 0
        var actions: [Action] = []
        for actionID in pending.keys.sorted() {
            pending[actionID]?.connection = id
            actions.append(.send(pending[actionID]!.bytes, on: id))
        }
        return actions
    }

    /// A server message arrived on connection `id`, decoded (or not) by `SyncProtocol`.
    mutating func received(_ decoded: Result<ServerMessage, ServerMessageError>, json: JSONValue, on id: WebSocketConnectionID)
        -> [Action]
    {
        guard connection == id else { return [] }
        let message: ServerMessage
        switch decoded {
        case .success(let value):
            message = value
        case .failure(let error):
            if case .unknownType = error.reason { return [] }  // a newer server's message: ignored
            // A Patch the mirror cannot read leaves it out of step, as one that does not apply.
            if error.type == "Patch", hasFull, phase == .open { return resynchronize(because: "\(error)") }
            return [.warn("ignoring a server message: \(error)")]
        }
        switch message {
        case .full(let full):
            document = full.state
            version = full.version
            hasFull = true
            if phase == .connecting { phase = .open }
            return [.applyFull(version: full.version)]
        case .patch(let patch):
            guard hasFull else { return [] }
            if let base = patch.base, let current = version, base != current {
                return resynchronize(because: "Patch from version \(base) does not follow \(current)")
            }
            do {
                document = try patch.ops.apply(to: document)
            } catch {
                return resynchronize(because: "Patch \(patch.version.map(String.init) ?? "") does not apply: \(error)")
            }
            if let newVersion = patch.version { version = newVersion }
            return [.applyPatch(version: version)]
        case .ack(let ack):
            return resolve(ack.id, SyncClient.Reply(outcome: .ack(version: ack.version), message: json))
        case .error(let error):
            guard let replyID = error.id else { return [] }
            return resolve(
                replyID, SyncClient.Reply(outcome: .error(code: error.code, message: error.message), message: json))
        case .presence, .presenceJoin, .presenceLeave, .presenceFocus:
            return []
        }
    }

    /// Connection `id` ended with `error`: reconnect when configured, else the client is over.
    mutating func connectionEnded(
        _ id: WebSocketConnectionID, with error: SyncClientError, using generator: inout some RandomNumberGenerator
    ) -> [Action] {
        guard connection == id else { return [] }
        if let policy = reconnectPolicy, !isShuttingDown, phase == .open || phase == .reconnecting {
            phase = .reconnecting
            connection = nil
            for actionID in pending.keys { pending[actionID]?.connection = nil }
            let delay = policy.delay(afterFailures: failedReconnects, using: &generator)
            failedReconnects += 1
            return [.reconnect(after: delay)]
        }
        return giveUp(error)
    }

    /// The wait after a lost connection is over: connect again, resuming after the mirror's version.
    mutating func reconnectTimerFired() -> [Action] {
        guard phase == .reconnecting, !isShuttingDown else { return [] }
        return [.openConnection(resumingAfter: hasFull ? version : nil)]
    }

    // MARK: Decisions

    private mutating func resolve(_ replyID: JSONValue, _ reply: SyncClient.Reply) -> [Action] {
        guard let actionID = replyID.integerValue, pending.removeValue(forKey: actionID) != nil else { return [] }
        return [.resolve(actionID: actionID, reply)]
    }

    /// The mirror cannot follow the patches any more: connect again for a fresh Full. Replies
    /// awaited on the old connection will never come, so they fail.
    private mutating func resynchronize(because reason: String) -> [Action] {
        guard phase == .open, let old = connection else { return [] }
        hasFull = false
        connection = nil
        let lost = pending.filter { $0.value.connection == old }.keys.sorted()
        for actionID in lost { pending[actionID] = nil }
        var actions: [Action] = [.warn("mirror out of step, reconnecting for a fresh Full: \(reason)")]
        actions.append(.openConnection(resumingAfter: nil))
        if !lost.isEmpty {
            actions.append(.fail(actionIDs: lost, .closed(code: nil, reason: "reconnected to resynchronise: \(reason)")))
        }
        actions.append(.closeConnection(old, reason: "resynchronising"))
        return actions
    }

    private mutating func giveUp(_ error: SyncClientError) -> [Action] {
        phase = .closed(error)
        pending = [:]
        return [.giveUp(error)]
    }
}
