/// When a PostgreSQL connection worker connects, as a value that returns what to do: every kind
/// of connection (store, listener, state writer, presence bus) follows this one schedule.
///
/// - Without a connection, the first attempt is at once.
/// - A connection that worked and broke (a server restart, a cut) is replaced at once: the
///   database is usually back, and a statement that found it dead runs again on the new one.
/// - A failed attempt waits before the next: `initialDelay`, doubling up to `maximumDelay`.
///   The cap is short (500 ms) so that every connection is back within a second of the
///   database; an attempt on a local database that is down costs a refused socket.
/// - An outage is reported once (`.reportDown`) and its end once (`.reportUp`).
struct ReconnectStateMachine: Sendable {
    enum State: Equatable, Sendable {
        /// No connection; the next attempt may start at once.
        case disconnected
        case connected
        /// The last attempt failed: the next one waits until `retryAt`.
        case backingOff(retryAt: ContinuousClock.Instant)
    }

    /// What the worker does when it needs a connection.
    enum Action: Equatable, Sendable {
        /// Use the connection it has.
        case use
        /// Open a new connection (then report `connected()` or `connectFailed`).
        case connect
        /// Too early to try again: a loop waits this long, a request fails at once with the outage.
        case wait(Duration)
    }

    /// What the worker tells its owner after a change.
    enum Report: Equatable, Sendable {
        /// The first failure of an outage, with its reason.
        case reportDown(String)
        /// A connection works again after an outage.
        case reportUp
    }

    let initialDelay: Duration
    let maximumDelay: Duration
    private(set) var state = State.disconnected
    /// The wait after the next failure.
    private(set) var delay: Duration
    /// Why the database cannot be used, while it cannot.
    private(set) var outage: String?

    init(initialDelay: Duration = .milliseconds(50), maximumDelay: Duration = .milliseconds(500)) {
        self.initialDelay = initialDelay
        self.maximumDelay = max(initialDelay, maximumDelay)
        self.delay = initialDelay
    }

    /// The worker needs a connection at `now`.
    mutating func connectionNeeded(now: ContinuousClock.Instant) -> Action {
        switch state {
        case .connected: return .use
        case .disconnected: return .connect
        case .backingOff(let retryAt):
            guard now < retryAt else { return .connect }
            return .wait(retryAt - now)
        }
    }

    /// A new connection is ready (set up, listening, ...).
    mutating func connected() -> Report? {
        state = .connected
        delay = initialDelay
        defer { outage = nil }
        return outage == nil ? nil : .reportUp
    }

    /// An attempt to connect (or to set the new connection up) failed.
    mutating func connectFailed(_ reason: String, now: ContinuousClock.Instant) -> Report? {
        state = .backingOff(retryAt: now + delay)
        delay = min(delay * 2, maximumDelay)
        return noteOutage(reason)
    }

    /// The connection in use broke. The next attempt is at once; only if it fails too is this an
    /// outage anyone hears of (`connectFailed`).
    mutating func connectionLost() {
        if state == .connected { state = .disconnected }
    }

    private mutating func noteOutage(_ reason: String) -> Report? {
        defer { outage = reason }
        return outage == nil ? .reportDown(reason) : nil
    }
}
