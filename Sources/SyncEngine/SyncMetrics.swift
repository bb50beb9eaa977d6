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
        /// Log writes (append + fsync): count, total seconds, and counts per upper bound in
        /// `syncBucketBounds` (cumulative, Prometheus style; the last bucket is +Inf).
        public var syncCount: UInt64 = 0
        public var syncSecondsTotal: Double = 0
        public var syncBuckets: [UInt64] = Array(repeating: 0, count: SyncMetrics.syncBucketBounds.count + 1)
        /// Sessions currently connected.
        public var sessions: Int = 0
        /// Every document's current version (documents with at least one change).
        public var documentVersions: [DocumentName: UInt64] = [:]
        /// Documents in memory now (see `SyncEngine.Configuration.maximumDocuments`).
        public var documentsLoaded: Int = 0
    }

    /// Upper bounds, in seconds, of the fsync latency buckets.
    public static let syncBucketBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

    private let counters = Mutex(Snapshot())

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

    func snapshot(documentVersions: [DocumentName: UInt64], documentsLoaded: Int) -> Snapshot {
        var snapshot = counters.withLock { $0 }
        snapshot.documentVersions = documentVersions
        snapshot.documentsLoaded = documentsLoaded
        return snapshot
    }
}
