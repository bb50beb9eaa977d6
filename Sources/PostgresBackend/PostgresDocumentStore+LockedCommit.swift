import JSONCodec
import SyncEngine

/// Commits under the document's row lock, for a document several instances write at once.
///
/// An optimistic commit (`append`) that lost to another instance waited for that instance's
/// commit, found the version moved, caught up, reduced again and tried once more, and could lose
/// again: three writers on one document retried each other (Ack p99 340 ms, max 1.3 s). Here the
/// batch takes `documents`' row with `SELECT … FOR UPDATE` first, so the writers queue in
/// PostgreSQL, and each one catches up and writes inside the lock: the write cannot conflict.
///
/// An instance that dies holding the lock (kill -9, power) loses its connection, and PostgreSQL
/// rolls the transaction back and releases the row at once. One that stops answering but keeps
/// its connection (SIGSTOP, a hung host) is cut off by `idle_in_transaction_session_timeout`.
extension PostgresDocumentStore {
    /// How long a locked commit may sit idle inside its transaction before PostgreSQL ends it.
    /// The lock is held only while the engine reduces one batch (well under a second).
    static var lockedCommitIdleTimeout: String { "5s" }

    /// On the writer thread, like `appendNow`: it blocks there, holding the lock, while the
    /// document's actor reduces the batch (`LockedCommit.awaitCommit`).
    public func append(
        locking name: DocumentName, after version: UInt64, claiming entry: InboxEntry?, _ exchange: LockedCommit
    ) async throws(StorageError) -> AppendResult {
        try await thread.call { () throws(StorageError) in
            try self.appendLockedNow(name, after: version, claiming: entry, exchange)
        }
    }

    func appendLockedNow(
        _ name: DocumentName, after version: UInt64, claiming entry: InboxEntry?, _ exchange: LockedCommit
    ) throws(StorageError) -> AppendResult {
        defer { if let entry { inboxEntryFinished(entry.id) } }
        let start = ContinuousClock.now
        // Never run again blindly: a commit whose answer was lost is checked (`verifyCommit`).
        return try withConnection(.never) { connection throws(PostgresError) -> AppendResult in
            var commit: StoreCommit?
            var endVersion: UInt64 = version
            let stateText: String?
            do throws(PostgresError) {
                // One round trip: the lock, then (a statement of its own, so seeing what the
                // previous holder committed) the events after `version`. No row yet (a new
                // document): nothing to lock, and its INSERT may still conflict. The name is
                // letters, digits, - and _ only (`DocumentName`), so it is safe as a literal.
                let literal = "'\(name.rawValue)'"
                let newer = try decodeEvents(
                    of: name,
                    connection.queryScript(
                        """
                        BEGIN;
                        SET LOCAL idle_in_transaction_session_timeout = '\(Self.lockedCommitIdleTimeout)';
                        SELECT 1 FROM \(schema.name).documents WHERE name = \(literal) FOR UPDATE;
                        SELECT (\(schema.eventObject))::text FROM \(schema.name).events
                        WHERE document = \(literal) AND version > \(version) ORDER BY version;
                        """))
                do {
                    try DocumentHistory.checkConsecutive(newer, after: version, through: nil)
                } catch {
                    throw PostgresError(.statement(sqlState: "XX001"), "the events of \(name) cannot be replayed: \(error)")
                }
                if let entry, try !claim(entry, connection) {
                    try connection.executeScript("ROLLBACK")
                    return .inboxEntryTaken
                }
                exchange.handOver(newer)
                guard let submitted = exchange.awaitCommit(), !submitted.events.isEmpty || submitted.inboxEntry != nil
                else {
                    try connection.executeScript("ROLLBACK")
                    return .committed(duration: .zero)
                }
                commit = submitted
                endVersion = submitted.events.last?.version ?? submitted.startVersion
                stateText = try encodedStateIfOverdue(submitted, endVersion: endVersion)
                if let refusal = try writeBatch(submitted, endVersion: endVersion, state: stateText, connection) {
                    try connection.executeScript("ROLLBACK")
                    return refusal
                }
            } catch {
                // Never committed (rolled back with the connection). As for an optimistic commit,
                // ask on a new connection: a batch whose version another instance took meanwhile
                // is reduced again (`.conflict`), and an outage reports the reconnect's error.
                if error.kind == .connection {
                    guard let commit else { return try afterLostLock(error) }
                    return try verifyCommit(of: commit, endVersion: endVersion, after: error)
                }
                try? connection.executeScript("ROLLBACK")
                if error.constraint == schema.actionOnceIndex { return .repeatedAction }
                throw error
            }
            guard let commit else { return .committed(duration: .zero) }
            do throws(PostgresError) {
                try connection.executeScript("COMMIT")
            } catch {
                guard error.kind == .connection else { throw error }
                return try verifyCommit(of: commit, endVersion: endVersion, after: error)
            }
            if !commit.events.isEmpty {
                stateWriter.committed(commit.name, version: endVersion, state: commit.state, written: stateText != nil)
            }
            return .committed(duration: .now - start)
        }
    }

    /// The connection broke before the batch was handed over: nothing was written. The error is
    /// the new connection's if there is none (the outage), else `error`.
    private func afterLostLock(_ error: PostgresError) throws(PostgresError) -> AppendResult {
        try writer.withConnection(.rerunnable) { connection throws(PostgresError) in try connection.execute("SELECT 1") }
        throw error
    }

    /// The state's JSON text when this commit must write `documents.state` itself (the state
    /// writer fell behind by the full lag), nil otherwise.
    func encodedStateIfOverdue(_ commit: StoreCommit, endVersion: UInt64) throws(PostgresError) -> String? {
        guard !commit.events.isEmpty, stateWriter.isOverdue(commit.name, at: endVersion) else { return nil }
        do {
            return String(decoding: try JSONCodec.encode(commit.state), as: UTF8.self)
        } catch {
            throw PostgresError(.statement(sqlState: "XX001"), "cannot encode the state of \(commit.name): \(error)")
        }
    }
}
