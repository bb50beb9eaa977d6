import Logging
import Synchronization
import SyncEngine
import SystemSupport

/// One thread with one libpq connection, kept up by `ReconnectStateMachine`: the one way the
/// store, the listener, the state writer and the presence bus connect, notice a dead
/// connection and reconnect.
///
/// Two ways to use it, both on `thread` only (libpq blocks, and a connection is not shared):
/// - requests (`withConnection`): the store and the state writer run statements as work comes;
///   a connection found dead before a statement is replaced first, and a statement that may run
///   twice (`.rerunnable`) runs again on a new connection after a connection error;
/// - a loop (`run`): the listener and the bus serve on their connection until it breaks, then
///   wait as the state machine says and connect again, until stopped.
final class PostgresConnectionWorker: Sendable {
    /// Whether a statement may run again on a new connection after its connection broke under it.
    enum Rerun: Sendable {
        /// A read, or a write whose second run changes nothing: run again once.
        case rerunnable
        /// A commit: a lost answer leaves its outcome unknown, which the caller checks.
        case never
    }

    private struct State {
        var connection: PostgresConnection?
        var reconnect = ReconnectStateMachine()
    }

    /// Says what the connection is for, in log lines.
    let role: String
    let thread = StorageThread()
    private let url: String
    /// Runs on every new connection before it is used (migrations, LISTEN, session settings).
    private let setUp: @Sendable (PostgresConnection) throws(PostgresError) -> Void
    /// An outage began (its first failure) or ended.
    private let onReport: @Sendable (ReconnectStateMachine.Report) -> Void
    private let logger: Logger
    private let state = Mutex(State())

    init(
        role: String, url: String, logger: Logger,
        setUp: @escaping @Sendable (PostgresConnection) throws(PostgresError) -> Void = { _ in },
        onReport: @escaping @Sendable (ReconnectStateMachine.Report) -> Void = { _ in }
    ) {
        self.role = role
        self.url = url
        self.logger = logger
        self.setUp = setUp
        self.onReport = onReport
    }

    /// Why this worker cannot reach the database, while it cannot.
    var outage: String? { state.withLock { $0.reconnect.outage } }

    /// Runs `body` with a live connection, on the calling thread (this worker's `thread`).
    @discardableResult
    func withConnection<T>(_ rerun: Rerun, _ body: (PostgresConnection) throws(PostgresError) -> T)
        throws(PostgresError) -> T
    {
        var attempts = 0
        while true {
            attempts += 1
            let connection = try liveConnection()
            do {
                return try body(connection)
            } catch where error.kind == .connection {
                lost(connection, error)
                guard rerun == .rerunnable, attempts < 2 else { throw error }
                logger.debug("A statement's connection broke; it runs again", metadata: ["connection": "\(role)"])
            }
        }
    }

    /// Connects, calls `serve` until it throws (the connection broke) or returns (done), and
    /// again, waiting as the state machine says, until `isStopping`. `wait` sleeps unless woken.
    func run(
        initialConnection: PostgresConnection? = nil, isStopping: () -> Bool, wait: (Duration) -> Void,
        onFailure: (PostgresError) -> Void, serve: (PostgresConnection) throws(PostgresError) -> Void
    ) {
        if let initialConnection { adopt(initialConnection) }
        while !isStopping() {
            let connection: PostgresConnection
            do throws(PostgresError) {
                connection = try liveConnection()
            } catch {
                onFailure(error)
                if case .wait(let delay) = state.withLock({ $0.reconnect.connectionNeeded(now: .now) }) {
                    logger.debug(
                        "PostgreSQL connection waits to reconnect",
                        metadata: ["connection": "\(role)", "error": "\(error)", "after": "\(delay)"])
                    wait(delay)
                }
                continue
            }
            do throws(PostgresError) {
                try serve(connection)
                return
            } catch {
                onFailure(error)
                if error.kind == .connection || connection.isBroken {
                    lost(connection, error)
                } else {
                    // A statement failed on a working connection: retried after a backoff, not in a tight loop.
                    failed(connection, error)
                }
            }
        }
    }

    /// Drops the connection (after `stop`, or to make the next use connect again).
    func disconnect() {
        let dropped = state.withLock { state in
            defer { state.connection = nil }
            state.reconnect.connectionLost()
            return state.connection
        }
        _ = dropped  // closed here, outside the lock
    }

    // MARK: Connecting

    /// The connection to use now: the open one if it still works, else a new one, or the outage.
    private func liveConnection() throws(PostgresError) -> PostgresConnection {
        while true {
            let (action, open) = state.withLock { state in
                (state.reconnect.connectionNeeded(now: .now), state.connection)
            }
            switch action {
            case .use:
                if let open, open.isAlive { return open }
                // Found dead before anything was sent: replaced at once, nobody hears of it.
                state.withLock { state in
                    state.connection = nil
                    state.reconnect.connectionLost()
                }
                if open != nil { logger.debug("A PostgreSQL connection was found closed", metadata: ["connection": "\(role)"]) }
            case .connect:
                return try connect()
            case .wait:
                throw PostgresError(
                    .connection, outage ?? "cannot connect to PostgreSQL: reconnecting")
            }
        }
    }

    private func connect() throws(PostgresError) -> PostgresConnection {
        do throws(PostgresError) {
            let connection = try PostgresConnection(url: url, role: role)
            try setUp(connection)
            adopt(connection)
            return connection
        } catch {
            let report = state.withLock { $0.reconnect.connectFailed(error.message, now: .now) }
            if let report { onReport(report) }
            throw error
        }
    }

    private func adopt(_ connection: PostgresConnection) {
        let report = state.withLock { state in
            state.connection = connection
            return state.reconnect.connected()
        }
        if let report { onReport(report) }
    }

    private func lost(_ connection: PostgresConnection, _ error: PostgresError) {
        state.withLock { state in
            if state.connection === connection { state.connection = nil }
            state.reconnect.connectionLost()
        }
    }

    private func failed(_ connection: PostgresConnection, _ error: PostgresError) {
        let report = state.withLock { state in
            if state.connection === connection { state.connection = nil }
            state.reconnect.connectionLost()
            return state.reconnect.connectFailed(error.message, now: .now)
        }
        if let report { onReport(report) }
    }
}
