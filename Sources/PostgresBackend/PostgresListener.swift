import Glibc
import Logging
import Synchronization
import SyncEngine

/// Hears other instances' commits: one connection LISTENs on the schema's channels, on a thread
/// of its own that waits in `poll()` on libpq's socket (blocking libpq calls must stay off the
/// service thread and the cooperative pool; a second thread keeps the writer's queue free).
///
/// Nothing depends on a notification arriving: after every (re)connect it LISTENs first and then
/// reads every document's version, so that open documents behind it catch up from the table, and
/// it does so again every `checkInterval`.
final class PostgresListener: Sendable {
    private let schema: PostgresSchema
    private let checkInterval: Duration
    private let stateLagTime: Duration
    private let logger: Logger
    private let onChange: @Sendable (StoreChange) -> Void
    private let onStatus: @Sendable (PostgresError?) -> Void
    /// Its connection runs the store's migrations (until they ran), then LISTENs.
    private let worker: PostgresConnectionWorker
    private let stopping = Atomic<Bool>(false)
    /// Wakes `poll()` for `stop()`, and for a sweep when the inbox entries handed over are done.
    private let wakeup = WakeupPipe()
    /// The inbox entries handed to the engine and not finished: the pace of the sweeps.
    let inbox: InboxFlow

    init(
        url: String, schema: PostgresSchema, checkInterval: Duration, stateLagTime: Duration, logger: Logger,
        prepare: @escaping @Sendable (PostgresConnection) throws(PostgresError) -> Void,
        onChange: @escaping @Sendable (StoreChange) -> Void, onStatus: @escaping @Sendable (PostgresError?) -> Void
    ) {
        let wakeup = self.wakeup
        self.inbox = InboxFlow(onSweepWanted: { wakeup.signal() })
        self.worker = PostgresConnectionWorker(
            role: "listener", url: url, logger: logger,
            setUp: { connection throws(PostgresError) in
                try prepare(connection)
                try connection.execute("LISTEN \(schema.eventsChannel)")
                try connection.execute("LISTEN \(schema.inboxChannel)")
            })
        self.schema = schema
        self.checkInterval = checkInterval
        self.stateLagTime = stateLagTime
        self.logger = logger
        self.onChange = onChange
        self.onStatus = onStatus
    }

    func start() {
        worker.thread.submit { [self] in run() }
    }

    /// Ends the loop and waits for its thread.
    func stop() {
        stopping.store(true, ordering: .releasing)
        wakeup.signal()
        worker.thread.stop()
        worker.disconnect()
    }

    /// LISTENs first (the worker's set-up), then reads the versions: nothing committed in between is missed.
    private func run() {
        worker.run(
            isStopping: { stopping.load(ordering: .acquiring) }, wait: { wakeup.wait($0) },
            onFailure: { onStatus($0) },
            serve: { connection throws(PostgresError) in
                // Up once the documents are listed: none is reported missing meanwhile.
                try checkVersions(connection)
                onStatus(nil)
                try sweepInbox(connection)
                try listen(on: connection)
            })
    }

    /// Delivers notifications until the connection breaks (throws) or `stop()`.
    private func listen(on connection: PostgresConnection) throws(PostgresError) {
        var nextCheck = ContinuousClock.now + checkInterval
        var nextFlush = ContinuousClock.now + stateLagTime
        while !stopping.load(ordering: .acquiring) {
            var now = ContinuousClock.now
            if now >= nextCheck {
                nextCheck = now + checkInterval
                try checkVersions(connection)
                try sweepInbox(connection)
            }
            if now >= nextFlush {
                try flushLaggingStates(connection)
                now = ContinuousClock.now
                nextFlush = now + stateLagTime
            }
            var descriptors = [
                pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeup.readDescriptor, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&descriptors, 2, WakeupPipe.milliseconds(min(nextCheck, nextFlush) - now))
            if descriptors[1].revents != 0 { wakeup.drain() }
            // Every notification read so far at once: a bulk INSERT's (one per document and
            // statement) and a flood of commits cost one sweep, not one each.
            var inboxChanged = inbox.isSweepWanted
            if descriptors[0].revents != 0 {
                for notification in try connection.notifications() {
                    if notification.channel == schema.inboxChannel {
                        inboxChanged = true
                    } else {
                        handle(notification)
                    }
                }
            }
            if inboxChanged, !stopping.load(ordering: .acquiring) { try sweepInbox(connection) }
        }
        try releaseClaims(connection)
    }

    /// At shutdown, this instance's claims end at once rather than when their leases run out:
    /// the entries it took and did not apply, and its hold on their documents, go to the other
    /// instances now. An entry still being applied stays safe: its transaction holds the row.
    private func releaseClaims(_ connection: PostgresConnection) throws(PostgresError) {
        try connection.execute(
            "UPDATE \(schema.name).inbox SET claimed_until = NULL WHERE claimed_by = $1 AND claimed_until >= now()",
            ["\(inbox.claimant)"])
    }

    private func handle(_ notification: (channel: String, payload: String)) {
        guard let colon = notification.payload.firstIndex(of: ":"),
            let version = UInt64(notification.payload[..<colon]),
            let name = DocumentName(String(notification.payload[notification.payload.index(after: colon)...]))
        else { return }
        onChange(.notified(name, version: version))
    }

    /// Every document's version and the time of its latest event, so that open documents behind
    /// it catch up (heals missed notifications with one query however many documents are open)
    /// and the document list needs no document loaded.
    private func checkVersions(_ connection: PostgresConnection) throws(PostgresError) {
        onChange(.versions(try schema.latestChanges(connection)))
    }

    /// Claims the oldest pending inbox entries no instance holds, of documents whose entries no
    /// other instance holds either (a lease of `inbox.lease`), and
    /// hands them to the engine, at most `inbox.batch` at a time and none already out (`InboxFlow`).
    /// The claim comes before any document's state is touched; the applying transaction's own
    /// claim (`FOR UPDATE SKIP LOCKED`, `applied_at IS NULL`) still lets exactly one apply each.
    ///
    /// A document stays with the instance applying it: the leases of rows already applied hold it
    /// too, for the instance with the lower `claimant` only (two instances that both took a
    /// batch at once must not each wait for the other's lease), so that after a storm's first
    /// sweeps one instance applies the rest, and the others take over once its lease runs out.
    /// The documents others hold are found once per sweep (`held`): asked per pending row, before
    /// the table's first ANALYZE, a sweep of a 10,000-row storm took half a second.
    private func sweepInbox(_ connection: PostgresConnection) throws(PostgresError) {
        let room = inbox.room()
        guard room > 0 else { return }
        let rows = try connection.execute(
            """
            WITH held AS MATERIALIZED (
                SELECT DISTINCT document FROM \(schema.name).inbox
                WHERE claimed_until >= now() AND claimed_by <> $1 AND (applied_at IS NULL OR claimed_by < $1)
            ), next AS (
                SELECT id FROM \(schema.name).inbox
                WHERE applied_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
                  AND NOT EXISTS (SELECT FROM held WHERE held.document = inbox.document)
                ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
            )
            UPDATE \(schema.name).inbox AS entry SET claimed_by = $1, claimed_until = now() + $3::interval
            FROM next WHERE entry.id = next.id
            RETURNING entry.id, entry.document, entry.action::text, entry.author
            """, ["\(inbox.claimant)", "\(room)", "\(WakeupPipe.milliseconds(inbox.lease)) milliseconds"]
        ).rows
        let entries = rows.compactMap { row -> InboxEntry? in
            guard let id = row[0].flatMap({ Int64($0) }), let name = row[1].flatMap({ DocumentName($0) }),
                let action = row[2]
            else { return nil }
            let author = row[3].flatMap { $0.isEmpty ? nil : $0 }
            return InboxEntry(id: id, document: name, action: Array(action.utf8), author: author)
        }.sorted { $0.id < $1.id }
        let handed = inbox.handOver(entries)
        if !handed.isEmpty { onChange(.inbox(handed)) }
    }

    /// Brings `documents.state` up to the latest version for documents whose writers stopped
    /// with it lagging (writers rewrite it only every so many versions), computed by PostgreSQL
    /// from the events. State and version come from one snapshot; a row that moved meanwhile is
    /// left to its writer.
    private func flushLaggingStates(_ connection: PostgresConnection) throws(PostgresError) {
        try connection.execute(
            """
            WITH lagging AS (
                SELECT name, version, \(schema.name).current_state(name) AS state FROM \(schema.name).documents
                WHERE state_version < version AND updated_at < now() - $1::interval
            )
            UPDATE \(schema.name).documents AS d SET state = lagging.state, state_version = lagging.version
            FROM lagging WHERE d.name = lagging.name AND d.version = lagging.version
            """, ["\(WakeupPipe.milliseconds(stateLagTime)) milliseconds"])
    }
}
