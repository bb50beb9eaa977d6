import JSONPatch
import SystemSupport
import Testing

@testable import SyncEngine

/// The exchange between an actor and a store thread holding a document's lock, without a store.
@Suite struct LockedCommitTests {
    private func event(_ version: UInt64) -> DocumentEvent {
        DocumentEvent(version: version, time: 0, action: ["type": "Elsewhere"], ops: JSONPatch([]))
    }

    private func commit(after version: UInt64) throws -> StoreCommit {
        let event = event(version + 1)
        return StoreCommit(
            name: .default, startVersion: version, events: [event], encodedEvents: [try event.encodedLine()],
            state: .null)
    }

    @Test func theStoreThreadGetsTheBatchBuiltOnTheEventsItHandedOver() async throws {
        let exchange = LockedCommit()
        let thread = StorageThread()
        defer { thread.stop() }
        async let written = thread.run { () -> StoreCommit? in
            exchange.handOver([event(4)])
            return exchange.awaitCommit()
        }
        guard case .events(let newer) = await exchange.handover() else {
            Issue.record("the events were handed over")
            return
        }
        #expect(newer.map(\.version) == [4])
        exchange.submit(try commit(after: 4))
        let received = await written
        #expect(try received.get()?.startVersion == 4)
    }

    /// A store whose work is async waits suspended (`submitted`), not blocking a thread.
    @Test func aStoreTaskGetsTheBatchWithoutBlockingAThread() async throws {
        let exchange = LockedCommit()
        async let written = { () async -> StoreCommit? in
            exchange.handOver([])
            return await exchange.submitted()
        }()
        guard case .events(let newer) = await exchange.handover() else {
            Issue.record("the events were handed over")
            return
        }
        #expect(newer.isEmpty)
        exchange.submit(try commit(after: 2))
        #expect(await written?.startVersion == 2)
        // Taken once: a second wait finds the exchange done.
        #expect(await exchange.submitted() == nil)
    }

    @Test func aSubmitBeforeTheStoreWaitsIsKeptForIt() async throws {
        let exchange = LockedCommit()
        exchange.handOver([event(3)])
        _ = await exchange.handover()
        exchange.submit(try commit(after: 3))
        #expect(await exchange.submitted()?.startVersion == 3)
    }

    @Test func anActorArrivingAfterTheHandoverStillGetsTheEvents() async throws {
        let exchange = LockedCommit()
        exchange.handOver([])
        guard case .events(let newer) = await exchange.handover() else {
            Issue.record("the events were handed over")
            return
        }
        #expect(newer.isEmpty)
        exchange.submit(nil)
        #expect(exchange.awaitCommit() == nil)
    }

    @Test func aStoreJobThatEndsWithoutLockingWakesTheActor() async {
        let exchange = LockedCommit()
        let thread = StorageThread()
        defer { thread.stop() }
        thread.submit { exchange.end() }
        guard case .ended = await exchange.handover() else {
            Issue.record("the actor heard that the job ended")
            return
        }
        // A late submit finds nobody waiting and changes nothing.
        exchange.submit(nil)
        #expect(exchange.awaitCommit() == nil)
    }

    @Test func anEndAfterTheHandoverDoesNotHideTheEvents() async {
        let exchange = LockedCommit()
        exchange.handOver([event(1)])
        exchange.end()
        guard case .events(let newer) = await exchange.handover() else {
            Issue.record("the events stay handed over")
            return
        }
        #expect(newer.count == 1)
    }
}
