import Glibc
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
        let event = DocumentEvent(
            version: version + 1, time: 1_700_000_000_000 + Int64(version), action: ["type": "Add"],
            ops: JSONPatch([.add(path: JSONPointer(tokens: ["todos", "\(version + 1)"]), value: ["name": "row"])]))
        return try store.appendNow(
            StoreCommit(
                name: name, startVersion: version, events: [event], encodedEvents: [try event.encodedLine()],
                state: try event.ops.apply(to: ["todos": [:]])))
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

    @Test func aWorkerReportsAnOutageOnceAndItsEndOnce() throws {
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
        var answered = false
        for _ in 0..<50 where !answered {
            answered = (try? worker.withConnection(.rerunnable) { connection throws(PostgresError) in
                try connection.execute("SELECT 1")
            }) != nil
            if !answered { usleep(100_000) }
        }
        #expect(answered)
        let seen = reports.withLock { $0 }
        #expect(seen.count == 2)
        #expect(seen.last == .reportUp)
        if case .reportDown? = seen.first {} else { Issue.record("the outage was reported: \(seen)") }
        worker.disconnect()
    }
}
