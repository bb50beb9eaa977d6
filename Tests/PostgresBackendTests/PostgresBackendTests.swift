import JSONPatch
import Logging
import Synchronization
import Testing

@testable import PostgresBackend
@testable import SyncEngine

/// The store against a private cluster: a connection broken by a restart or a terminated backend
/// is the store's problem, not its caller's. Skipped where PostgreSQL is not installed.
/// It calls the blocking methods (`…Now`) that the async store API runs on the writer thread,
/// where the reconnecting happens.
@Suite(.enabled(if: PrivateCluster.isAvailable), .serialized) struct PostgresBackendTests {
    static let logger: Logger = {
        var logger = Logger(label: "patchsync.postgres.tests")
        logger.logLevel = .critical
        return logger
    }()

    private func makeStore(_ cluster: PrivateCluster) throws -> PostgresDocumentStore {
        let store = try PostgresDocumentStore(
            configuration: .init(url: cluster.url, schema: "backend_tests"), logger: Self.logger)
        try store.startNow(
            initialState: ["todos": [:]], schemas: StoreSchemas(current: 1, initialState: { _ in nil }),
            onChange: { _ in })
        return store
    }

    private func commit(_ store: PostgresDocumentStore, _ name: DocumentName, from version: UInt64) throws -> AppendResult {
        try store.appendNow(try storeCommit(name, from: version))
    }

    /// A locked commit through the async store API (on the writer thread), ending `exchange` as
    /// the engine does once the store's call returns.
    private func lockedCommit(
        _ store: PostgresDocumentStore, _ name: DocumentName, after version: UInt64, _ exchange: LockedCommit
    ) async -> Result<AppendResult, StorageError> {
        defer { exchange.end() }
        return await Result(awaiting: { () async throws(StorageError) in
            try await store.append(locking: name, after: version, claiming: nil, exchange)
        })
    }

    private func storeCommit(_ name: DocumentName, from version: UInt64) throws -> StoreCommit {
        let event = DocumentEvent(
            version: version + 1, time: 1_700_000_000_000 + Int64(version), action: ["type": "Add"],
            ops: JSONPatch([.add(path: JSONPointer(tokens: ["todos", "\(version + 1)"]), value: ["name": "row"])]))
        return StoreCommit(
            name: name, startVersion: version, events: [event], encodedEvents: [try event.encodedLine()],
            state: try event.ops.apply(to: ["todos": [:]]))
    }

    /// Two instances' locked commits on one document: the second waits in PostgreSQL for the
    /// first's row lock, then gets the first's event handed over and writes after it.
    @Test func aLockedCommitWaitsForTheLockHolderAndIsHandedItsEvents() async throws {
        let cluster = try PrivateCluster()
        defer { cluster.destroy() }
        let first = try makeStore(cluster)
        defer { first.shutdown() }
        let second = try makeStore(cluster)
        defer { second.shutdown() }
        let name = try #require(DocumentName("locked"))
        guard case .committed = try commit(first, name, from: 0) else { throw ClusterError(description: "first commit") }

        let holding = LockedCommit()
        async let firstWritten = lockedCommit(first, name, after: 1, holding)
        guard case .events(let none) = await holding.handover(), none.isEmpty else {
            Issue.record("the first got the lock with nothing newer")
            return
        }
        let waiting = LockedCommit()
        async let secondWritten = lockedCommit(second, name, after: 1, waiting)
        var waits = false
        for _ in 0..<300 where !waits {
            let waiters = try cluster.sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            waits = waiters.split(whereSeparator: \.isNewline).first == "1"
            // Suspended, not blocking a pool thread: the second's call must get one to start.
            if !waits { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(waits, "the second commit waits for the row lock")
        holding.submit(try storeCommit(name, from: 1))
        guard case .success(.committed) = await firstWritten else {
            Issue.record("the lock holder committed")
            return
        }
        guard case .events(let newer) = await waiting.handover() else {
            Issue.record("the second got the lock")
            return
        }
        #expect(newer.map(\.version) == [2])
        waiting.submit(try storeCommit(name, from: 2))
        guard case .success(.committed) = await secondWritten else {
            Issue.record("the second committed after the first, without a conflict")
            return
        }
        #expect(try first.loadNow(name)?.version == 3)
    }

    @Test func readsAndCommitsWorkRightAfterARestart() throws {
        let cluster = try PrivateCluster()
        defer { cluster.destroy() }
        let store = try makeStore(cluster)
        defer { store.shutdown() }
        let name = try #require(DocumentName("restarted"))
        guard case .committed = try commit(store, name, from: 0) else { throw ClusterError(description: "first commit") }

        try cluster.restart()
        // The connection died with the server: found dead before anything was sent, and replaced.
        #expect(try store.loadNow(name)?.version == 1)
        guard case .committed = try commit(store, name, from: 1) else {
            Issue.record("the commit after the restart was not committed")
            return
        }
        #expect(store.unavailableReason == nil)
    }

    @Test func aCommitRightAfterARestartNeedsNoReadFirst() throws {
        let cluster = try PrivateCluster()
        defer { cluster.destroy() }
        let store = try makeStore(cluster)
        defer { store.shutdown() }
        let name = try #require(DocumentName("written"))
        _ = try commit(store, name, from: 0)
        try cluster.restart()
        guard case .committed = try commit(store, name, from: 1) else {
            Issue.record("the commit after the restart was not committed")
            return
        }
        #expect(try store.loadNow(name)?.version == 2)
    }

    @Test func aReadWhoseBackendIsTerminatedRunsAgain() throws {
        let cluster = try PrivateCluster()
        defer { cluster.destroy() }
        let store = try makeStore(cluster)
        defer { store.shutdown() }
        let name = try #require(DocumentName("terminated"))
        _ = try commit(store, name, from: 0)
        try cluster.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'patchsync store'")
        #expect(try store.loadNow(name)?.version == 1)
        #expect(try store.eventsNow(of: name, after: 0, limit: 10).events.map(\.version) == [1])
    }

    @Test func aWorkerReportsAnOutageOnceAndItsEndOnce() async throws {
        let cluster = try PrivateCluster()
        defer { cluster.destroy() }
        let reports = Mutex<[ReconnectStateMachine.Report]>([])
        let worker = PostgresConnectionWorker(
            role: "test", url: cluster.url, logger: Self.logger, onReport: { report in reports.withLock { $0.append(report) } })
        try worker.withConnection(.rerunnable) { connection throws(PostgresError) in try connection.execute("SELECT 1") }
        try cluster.stop()
        for _ in 0..<3 {
            #expect(throws: PostgresError.self) {
                try worker.withConnection(.rerunnable) { connection throws(PostgresError) in
                    try connection.execute("SELECT 1")
                }
            }
        }
        try cluster.start()
        // Refused until the worker's backoff lets it try again; a bound on waiting, not a speed.
        var answered = false
        for _ in 0..<600 where !answered {
            answered = (try? worker.withConnection(.rerunnable) { connection throws(PostgresError) in
                try connection.execute("SELECT 1")
            }) != nil
            if !answered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(answered)
        let seen = reports.withLock { $0 }
        #expect(seen.count == 2)
        #expect(seen.last == .reportUp)
        if case .reportDown? = seen.first {} else { Issue.record("the outage was reported: \(seen)") }
        worker.disconnect()
    }
}
