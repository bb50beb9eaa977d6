import Glibc
import Logging
import Synchronization
import SyncEngine

/// Presence across the instances sharing a database: `PresenceMessage`s as NOTIFY payloads on
/// the channel `<schema>_presence`, never written to a table (presence is never logged).
///
/// One connection, on a thread of its own (libpq blocks), LISTENs and NOTIFYs. The instance
/// number is a random one held with a session-level advisory lock on that connection, so no two
/// live instances share it; PostgreSQL releases it when the instance dies. On every (re)connect
/// the instance sends `alive`, its full roster and a roster request (the others answer with
/// theirs); then `alive` every quarter of `timeout`, and what its sessions do as it happens.
public final class PostgresPresenceBus: PresenceBus {
    private struct State {
        /// The connection `join` opened, until the thread takes it.
        var connection: PostgresConnection?
        /// Notices waiting for the thread to send them.
        var outbox: [PresenceNotice] = []
        /// This instance's sessions as published: what a roster request gets.
        var roster: [DocumentName: [PresenceEntry]] = [:]
        var metrics = PresenceBusMetrics()
    }

    public let timeout: Duration
    private let url: String
    private let schema: PostgresSchema
    private let logger: Logger
    private let state = Mutex(State())
    /// This instance's number: set by `join`, claimed again by every new connection.
    private let instance = InstanceNumber()
    /// Its connection holds this instance's number (claimed again on every new connection).
    private let worker: PostgresConnectionWorker
    private let stopping = Atomic<Bool>(false)
    private let wakeup = WakeupPipe()

    /// NOTIFY payloads must stay below 8000 bytes.
    private static var maximumPayloadBytes: Int { 7900 }

    /// `timeout`: how long this instance's sessions outlive its last word when it disappears
    /// (the others use it as this instance announces it). At least 1 s.
    public init(configuration: PostgresStoreConfiguration, timeout: Duration, logger: Logger) {
        self.url = configuration.url
        let schema = PostgresSchema(name: configuration.schema)
        self.schema = schema
        self.timeout = max(timeout, .seconds(1))
        self.logger = logger
        let claimed = self.instance
        self.worker = PostgresConnectionWorker(
            role: "presence bus", url: configuration.url, logger: logger,
            setUp: { connection throws(PostgresError) in
                let instance = claimed.value.load(ordering: .acquiring)
                if try Self.claimInstanceNumber(on: connection, schema: schema, preferring: instance) != instance {
                    logger.warning(
                        "Another instance holds this instance's number; session ids may repeat across instances until a restart",
                        metadata: ["instance": "\(instance)"])
                }
            })
    }

    /// Claims an instance number. With the database unreachable the instance still starts (the
    /// store reports the outage): it takes a random number now, which the bus claims, preferred,
    /// once it connects (its worker's set-up, which warns if another instance holds it meanwhile).
    public func join() throws(StorageError) -> UInt32 {
        do throws(PostgresError) {
            let connection: PostgresConnection
            do throws(PostgresError) {
                connection = try PostgresConnection(url: url, role: "presence bus")
            } catch where error.kind == .connection {
                let instance = UInt32.random(in: 1..<SessionIDs.instanceLimit)
                self.instance.value.store(instance, ordering: .releasing)
                return instance
            }
            guard let instance = try Self.claimInstanceNumber(on: connection, schema: schema, preferring: nil) else {
                throw PostgresError(.connection, "every instance number tried is held by another instance")
            }
            self.instance.value.store(instance, ordering: .releasing)
            state.withLock { state in
                state.connection = connection
            }
            return instance
        } catch {
            throw StorageError(kind: .database, path: schema.name, message: "presence: \(error)")
        }
    }

    public func start(onEvent: @escaping @Sendable (PresenceBusEvent) -> Void) {
        worker.thread.submit { [self] in run(onEvent) }
    }

    public func publish(_ change: PresenceChange, on document: DocumentName) {
        state.withLock { state in
            _ = state.roster[document, default: []].apply(change)
            if state.roster[document]?.isEmpty == true { state.roster[document] = nil }
            state.outbox.append(.change(document, change))
        }
        wakeup.signal()
    }

    public func requestRoster(from instance: UInt32) {
        state.withLock { $0.outbox.append(.rosterRequest(to: instance)) }
        wakeup.signal()
    }

    public var metrics: PresenceBusMetrics { state.withLock { $0.metrics } }

    public func shutdown() {
        stopping.store(true, ordering: .releasing)
        wakeup.signal()
        worker.thread.stop()
        worker.disconnect()
    }

    // MARK: The bus thread

    private var channel: String { schema.name + "_presence" }

    private func run(_ onEvent: @escaping @Sendable (PresenceBusEvent) -> Void) {
        let opened = state.withLock { state in
            defer { state.connection = nil }
            return state.connection
        }
        worker.run(
            initialConnection: opened, isStopping: { stopping.load(ordering: .acquiring) },
            wait: { wakeup.wait($0) },
            onFailure: { _ in
                state.withLock { $0.metrics.up = false }
                // Cut off, this instance hears nobody: the others' sessions expire meanwhile.
                onEvent(.tick)
            },
            serve: { live throws(PostgresError) in
                try live.execute("LISTEN \(channel)")
                state.withLock { state in
                    state.metrics.up = true
                    state.outbox = [.alive(timeout: timeout)] + Self.rosterNotices(state.roster)
                        + [.rosterRequest(to: nil)]
                }
                try serve(on: live, onEvent)
            })
    }

    /// Sends, receives and ticks until `shutdown` (then says `gone`) or the connection breaks (throws).
    private func serve(on connection: PostgresConnection, _ onEvent: @Sendable (PresenceBusEvent) -> Void)
        throws(PostgresError)
    {
        let instance = self.instance.value.load(ordering: .acquiring)
        let tickInterval = min(.seconds(1), timeout / 4)
        var nextAlive = ContinuousClock.now + timeout / 4
        var nextTick = ContinuousClock.now + tickInterval
        while true {
            if stopping.load(ordering: .acquiring) {
                state.withLock { $0.outbox.append(.gone) }
                try send(from: instance, on: connection)
                return
            }
            let now = ContinuousClock.now
            if now >= nextAlive {
                state.withLock { $0.outbox.append(.alive(timeout: timeout)) }
                nextAlive = now + timeout / 4
            }
            if now >= nextTick {
                onEvent(.tick)
                nextTick = now + tickInterval
            }
            try send(from: instance, on: connection)
            var descriptors = [
                pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeup.readDescriptor, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&descriptors, 2, WakeupPipe.milliseconds(min(nextAlive, nextTick) - ContinuousClock.now))
            if descriptors[1].revents != 0 { wakeup.drain() }
            guard descriptors[0].revents != 0 else { continue }
            for notification in try connection.notifications() where notification.channel == channel {
                guard let message = PresenceMessage(payload: Array(notification.payload.utf8)),
                    message.instance != instance
                else { continue }
                if message.notices.contains(where: { $0 == .rosterRequest(to: nil) || $0 == .rosterRequest(to: instance) })
                {
                    state.withLock { $0.outbox += Self.rosterNotices($0.roster) }
                }
                state.withLock { $0.metrics.messagesReceived += 1 }
                onEvent(.received(message))
            }
        }
    }

    /// Sends the outbox as few NOTIFYs as fit. Notices lost to a broken connection do not
    /// matter: the roster goes out again after the reconnect.
    private func send(from instance: UInt32, on connection: PostgresConnection) throws(PostgresError) {
        let notices = state.withLock { state in
            defer { state.outbox = [] }
            return state.outbox
        }
        guard !notices.isEmpty else { return }
        for payload in PresenceMessage.payloads(
            instance: instance, notices: notices, maximumBytes: Self.maximumPayloadBytes)
        {
            try connection.execute("SELECT pg_notify($1, $2)", [channel, String(decoding: payload, as: UTF8.self)])
            state.withLock { $0.metrics.messagesSent += 1 }
        }
    }

    /// Takes `preferred` (after a reconnect), else a random free number; nil when every one
    /// tried is taken. The lock is the connection's until it closes.
    private static func claimInstanceNumber(
        on connection: PostgresConnection, schema: PostgresSchema, preferring preferred: UInt32?
    ) throws(PostgresError) -> UInt32?
    {
        let candidates = (preferred.map { [$0] } ?? []) + (0..<16).map { _ in UInt32.random(in: 1..<SessionIDs.instanceLimit) }
        for candidate in candidates {
            let taken = try connection.execute(
                "SELECT pg_try_advisory_lock(hashtext($1), $2::integer)", ["patchsync presence \(schema.name)", "\(candidate)"]
            ).rows.first?[0]
            if taken == "t" { return candidate }
        }
        return nil
    }

    private static func rosterNotices(_ roster: [DocumentName: [PresenceEntry]]) -> [PresenceNotice] {
        [.rosterBegins]
            + roster.flatMap { document, entries in entries.map { PresenceNotice.change(document, .joined($0)) } }
            + [.rosterEnds]
    }
}

/// The presence bus's instance number, shared with its connection's set-up.
private final class InstanceNumber: Sendable {
    let value = Atomic<UInt32>(0)
}
