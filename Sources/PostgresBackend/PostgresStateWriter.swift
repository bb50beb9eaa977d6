import JSONCodec
import JSONPatch
import Logging
import Synchronization
import SyncEngine
import SystemSupport

/// Keeps `documents.state` within its bound of the latest version (`stateLagVersions`,
/// `stateLagTime`) without rewriting it inside the actions' commits.
///
/// Encoding, sending and storing a large state (580 KB of jsonb for 10,000 rows) takes tens of
/// milliseconds; inside a commit it delayed that commit, its NOTIFY and the actions queued behind
/// it. So once the state is half its bound behind, a commit hands the new state to this writer,
/// which stores it with a statement of its own, on a connection and thread of its own, while the
/// commits go on; the other half of the bound is its time to land. Only a commit that would leave
/// the state at its full bound (the writer fell behind, or the document is new) writes it itself.
/// One state per document is on its way at a time: commits meanwhile hand over nothing.
final class PostgresStateWriter: Sendable {
    /// What this instance knows of one open document's stored state.
    private struct Progress {
        /// The version `documents.state` holds, and when that version was current.
        var stored: UInt64
        var storedAt: ContinuousClock.Instant
        /// The version handed over and not yet stored.
        var writing: UInt64?
    }

    /// A state handed over, and when it was current.
    private struct PendingState {
        let version: UInt64
        let state: JSONValue
        let at: ContinuousClock.Instant
    }

    private struct Queue {
        var progress: [DocumentName: Progress] = [:]
        var pending: [DocumentName: PendingState] = [:]
        var isDraining = false
        var isStopping = false
    }

    private let schema: PostgresSchema
    private let lagVersions: UInt64
    private let lagTime: Duration
    private let logger: Logger
    /// The commits waiting for the row wait until this transaction ends: it ends without waiting
    /// for its WAL to reach the disk. A crash may lose the rewrite, and then every commit after it
    /// too (the WAL is flushed in order), so the state never claims a version it does not hold.
    private let worker: PostgresConnectionWorker
    private var thread: StorageThread { worker.thread }
    private let queue = Mutex(Queue())

    init(url: String, schema: PostgresSchema, lagVersions: UInt64, lagTime: Duration, logger: Logger) {
        self.worker = PostgresConnectionWorker(
            role: "state writer", url: url, logger: logger,
            setUp: { connection throws(PostgresError) in try connection.execute("SET synchronous_commit = off") })
        self.schema = schema
        self.lagVersions = lagVersions
        self.lagTime = lagTime
        self.logger = logger
    }

    /// Whether a commit reaching `version` must write the state itself: this instance has not
    /// seen the document's state (a new document), or it would otherwise be at its full bound.
    func isOverdue(_ name: DocumentName, at version: UInt64) -> Bool {
        queue.withLock { queue in
            guard let progress = queue.progress[name] else { return true }
            return isBehind(progress, at: version, by: lagVersions, or: lagTime)
        }
    }

    /// A commit reached `version` with `state`; `written` if it stored the state itself.
    /// Otherwise, once the stored state is half its bound behind, the state is handed over.
    func committed(_ name: DocumentName, version: UInt64, state: JSONValue, written: Bool) {
        let now = ContinuousClock.now
        let startDraining = queue.withLock { queue -> Bool in
            if written {
                var progress = queue.progress[name] ?? Progress(stored: version, storedAt: now)
                (progress.stored, progress.storedAt) = (version, now)
                queue.progress[name] = progress
                return false
            }
            guard !queue.isStopping, let progress = queue.progress[name], progress.writing == nil,
                isBehind(progress, at: version, by: max(1, lagVersions / 2), or: lagTime / 2)
            else { return false }
            queue.progress[name]?.writing = version
            queue.pending[name] = PendingState(version: version, state: state, at: now)
            defer { queue.isDraining = true }
            return !queue.isDraining
        }
        // The caller is the store's writer thread, stopped before this one: even a job run
        // inline after `stop` blocks no service or pool thread.
        if startDraining { thread.submit { [self] in drain() } }
    }

    /// The document was read from the table, whose state is at `version`.
    func loaded(_ name: DocumentName, stateVersion version: UInt64) {
        queue.withLock { $0.progress[name] = Progress(stored: version, storedAt: .now) }
    }

    /// Forgets the document; a state handed over is still stored.
    func closed(_ name: DocumentName) {
        queue.withLock { _ = $0.progress.removeValue(forKey: name) }
    }

    /// Stores what is pending, then ends the thread.
    func stop() {
        queue.withLock { $0.isStopping = true }
        thread.stop()
        worker.disconnect()
    }

    private func isBehind(_ progress: Progress, at version: UInt64, by versions: UInt64, or time: Duration) -> Bool {
        version - min(version, progress.stored) >= versions || ContinuousClock.now - progress.storedAt >= time
    }

    /// Stores the pending states one by one until none is left.
    private func drain() {
        while let (name, write) = queue.withLock({ queue -> (DocumentName, PendingState)? in
            guard let (name, write) = queue.pending.first else {
                queue.isDraining = false
                return nil
            }
            queue.pending[name] = nil
            return (name, write)
        }) {
            let stored = store(write.state, of: name, at: write.version)
            queue.withLock { queue in
                guard var progress = queue.progress[name] else { return }
                if progress.writing == write.version { progress.writing = nil }
                if stored, write.version > progress.stored {
                    progress.stored = write.version
                    progress.storedAt = write.at
                }
                queue.progress[name] = progress
            }
        }
    }

    /// One statement; a state older than the one in the table (written meanwhile by a commit,
    /// another instance or the listener) changes nothing. False if it could not be stored: a
    /// later commit hands over a newer state.
    private func store(_ state: JSONValue, of name: DocumentName, at version: UInt64) -> Bool {
        do {
            let text = String(decoding: try JSONCodec.encode(state), as: UTF8.self)
            // A second run finds the state stored and changes nothing.
            try worker.withConnection(.rerunnable) { connection throws(PostgresError) in
                try connection.execute(
                    """
                    UPDATE \(schema.name).documents SET state = $2::jsonb, state_version = $3
                    WHERE name = $1 AND state_version < $3
                    """, [name.rawValue, text, "\(version)"])
            }
            return true
        } catch {
            logger.debug(
                "Cannot store the document's state yet; a later commit hands over a newer one",
                metadata: ["document": "\(name)", "version": "\(version)", "error": "\(error)"])
            return false
        }
    }
}
