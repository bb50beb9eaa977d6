import Synchronization

/// Counters for a /metrics endpoint. Cheap to update from any thread.
public final class SyncMetrics: Sendable {
    /// A consistent copy of every counter.
    public struct Snapshot: Sendable, Hashable {
        /// Actions that were applied (changed the state or not) and made durable.
        public var actionsApplied: UInt64 = 0
        /// Messages refused, by error code.
        public var rejected: [SyncErrorCode: UInt64] = [:]
        /// Patch messages broadcast (each counted once, however many sessions got it).
        public var patchesBroadcast: UInt64 = 0
        /// Messages and bytes handed to sessions' outputs (a broadcast counts once per session).
        public var messagesSent: UInt64 = 0
        public var bytesSent: UInt64 = 0
        /// Store writes (file append + fsync, or database commit): count, total seconds, and counts per upper bound in
        /// `syncBucketBounds` (cumulative, Prometheus style; the last bucket is +Inf).
        public var syncCount: UInt64 = 0
        public var syncSecondsTotal: Double = 0
        public var syncBuckets: [UInt64] = Array(repeating: 0, count: SyncMetrics.syncBucketBounds.count + 1)
        /// The shared store's counters; nil for the file store.
        public var database: Database?
        /// The presence bus's state and counters; nil without a bus (the file store).
        public var presenceBus: PresenceBusMetrics?
        /// Sessions currently connected.
        public var sessions: Int = 0
        /// Every document's current version (documents with at least one change).
        public var documentVersions: [DocumentName: UInt64] = [:]
        /// Documents in memory now (see `SyncEngine.Configuration.maximumDocuments`).
        public var documentsLoaded: Int = 0
        /// Outcomes remembered for exactly-once, over every loaded document: how many, and their
        /// bytes as the bound counts them (`ActionOutcomes.estimatedBytes`).
        public var actionOutcomes: Int = 0
        public var actionOutcomeBytes: Int = 0
    }

    /// What a shared store (PostgreSQL) adds.
    public struct Database: Sendable, Hashable {
        /// Whether the database can take writes now.
        public var up = true
        /// Appends refused because another instance committed first (then reduced again and retried).
        public var conflictsRetried: UInt64 = 0
        /// Notifications of other instances' commits received.
        public var notifications: UInt64 = 0
        /// Catch-ups that applied events committed elsewhere.
        public var catchUps: UInt64 = 0
        /// Actions applied from the inbox.
        public var inboxActionsApplied: UInt64 = 0
    }

    /// Upper bounds, in seconds, of the fsync latency buckets.
    public static let syncBucketBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

    private let counters = Mutex(Snapshot())
    private let database = Mutex(Database())

    init() {}

    func recordApplied(_ count: Int) {
        counters.withLock { $0.actionsApplied += UInt64(count) }
    }

    func recordRejected(_ code: SyncErrorCode) {
        counters.withLock { $0.rejected[code, default: 0] += 1 }
    }

    func recordBroadcast() {
        counters.withLock { $0.patchesBroadcast += 1 }
    }

    func recordSent(messages: Int, bytes: Int) {
        counters.withLock {
            $0.messagesSent += UInt64(messages)
            $0.bytesSent += UInt64(bytes)
        }
    }

    func recordConflict() {
        database.withLock { $0.conflictsRetried += 1 }
    }

    func recordNotification() {
        database.withLock { $0.notifications += 1 }
    }

    func recordCatchUp() {
        database.withLock { $0.catchUps += 1 }
    }

    func recordInboxApplied() {
        database.withLock { $0.inboxActionsApplied += 1 }
    }

    /// A document's outcome memory changed by these many entries and bytes.
    func recordActionOutcomes(_ delta: Int, bytes: Int) {
        counters.withLock {
            $0.actionOutcomes += delta
            $0.actionOutcomeBytes += bytes
        }
    }

    func recordSessions(_ delta: Int) {
        counters.withLock { $0.sessions += delta }
    }

    func recordSync(duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let value = Double(seconds) + Double(attoseconds) / 1e18
        counters.withLock { counters in
            counters.syncCount += 1
            counters.syncSecondsTotal += value
            for (index, bound) in Self.syncBucketBounds.enumerated() where value <= bound {
                counters.syncBuckets[index] += 1
            }
            counters.syncBuckets[Self.syncBucketBounds.count] += 1
        }
    }

    /// `databaseUp` and `presenceBus` are nil for the file store.
    func snapshot(
        documentVersions: [DocumentName: UInt64], documentsLoaded: Int, databaseUp: Bool?,
        presenceBus: PresenceBusMetrics?
    ) -> Snapshot {
        var snapshot = counters.withLock { $0 }
        snapshot.presenceBus = presenceBus
        snapshot.documentVersions = documentVersions
        snapshot.documentsLoaded = documentsLoaded
        if let databaseUp {
            snapshot.database = database.withLock { $0 }
            snapshot.database?.up = databaseUp
        }
        return snapshot
    }
}
