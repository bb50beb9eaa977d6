import EngineTestSupport
import FileStore
import JSONPatch
import Testing

@testable import SyncEngine
@testable import TodoModel

/// Memory keeps a bounded window of events; history, resume and revert reach further back
/// through the store.
@Suite struct BoundedHistoryTests {
    private func event(_ version: UInt64) -> DocumentEvent {
        DocumentEvent(version: version, time: 0, action: ["type": "Test"], ops: JSONPatch([]))
    }

    @Test func theWindowEvictsTheOldestEventsOverEitherBound() throws {
        var byCount = RecentEvents(latestVersion: 0, maximumCount: 3, maximumBytes: 10_000)
        for version in 1...5 { byCount.append(event(UInt64(version)), patch: nil) }
        #expect(byCount.events(after: 2) == [event(3), event(4), event(5)])
        #expect(byCount.events(after: 2, limit: 1) == [event(3)])
        #expect(byCount.events(after: 1) == nil)
        #expect(byCount.events(after: 5)?.isEmpty == true)
        #expect(byCount.events(after: 6) == nil)

        let lineSize = try #require(try? event(11).encodedLine().count)
        var byBytes = RecentEvents(latestVersion: 10, maximumCount: 100, maximumBytes: 2 * lineSize + 1)
        for version in 11...15 { byBytes.append(event(UInt64(version)), patch: nil) }
        #expect(byBytes.bytes <= 2 * lineSize + 1)
        #expect(byBytes.events(after: 13)?.map(\.version) == [14, 15])
        #expect(byBytes.events(after: 12) == nil)
    }

    @Test func largeEventsLeaveMemoryButHistoryResumeAndRevertStillReachThem() async throws {
        let directory = TemporaryDirectory()
        let engine = try await TodoEngine(
            configuration: .init(store: fileStore(directory), retainedEventBytes: 16 * 1024), logger: testLogger)
        let writer = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: writer)
        let name = String(repeating: "x", count: 4000)
        for index in 1...30 {
            engine.send(#"{"type":"Add","row":{"name":"\#(index) \#(name)","completed":false}}"#, from: session)
        }
        try await engine.settle()

        let history = try await engine.history(of: .default)
        #expect(history.map(\.version) == Array(1...30))

        let resumed = CollectingOutput()
        _ = engine.connect(document: .default, since: 2, role: .viewer, output: resumed)
        try await engine.settle()
        #expect(resumed.messages == Array(writer.messages[3...30]))

        #expect(try await engine.revert(.default, to: 1) == 31)
        let state = try await engine.state(of: .default)
        #expect(state.state["todos"]?.objectValue?.count == 1)
        await engine.shutdown()
    }
}
