import EngineTestSupport
import FileStore
import JSONPatch
import Testing

@testable import SyncEngine
@testable import TodoModel

@Suite struct ResumeAndRevertTests {
    private func engineWithVersions(_ count: Int, _ directory: TemporaryDirectory, retainedEvents: Int = 1000)
        async throws -> (TodoEngine, SessionID, CollectingOutput)
    {
        let engine = try await makeEngine(directory, retainedEvents: retainedEvents, snapshotInterval: 4)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        for index in 1...count {
            engine.send(#"{"type":"Add","row":{"name":"row \#(index)","completed":\#(index % 2 == 0)}}"#, from: session)
        }
        try await engine.settle()
        return (engine, session, output)
    }

    @Test func resumeSendsExactlyThePatchesAfterTheVersion() async throws {
        let directory = TemporaryDirectory()
        let (engine, _, first) = try await engineWithVersions(6, directory)
        let resumed = CollectingOutput()
        _ = engine.connect(document: .default, since: 3, role: .viewer, output: resumed)
        try await engine.settle()
        #expect(resumed.messages == Array(first.messages[4...6]))
        #expect(resumed.messages.map { $0["version"] } == [4, 5, 6])

        let upToDate = CollectingOutput()
        _ = engine.connect(document: .default, since: 6, role: .viewer, output: upToDate)
        try await engine.settle()
        #expect(upToDate.messages.isEmpty)
        await engine.shutdown()
    }

    @Test(arguments: [UInt64(1), 99])
    func resumeOutsideTheRetainedHistoryGetsAFull(since: UInt64) async throws {
        let directory = TemporaryDirectory()
        let (engine, _, _) = try await engineWithVersions(12, directory, retainedEvents: 3)
        let output = CollectingOutput()
        _ = engine.connect(document: .default, since: since, role: .viewer, output: output)
        let state = try await engine.state(of: .default)
        #expect(output.messages == [.object(["type": "Full", "todo": state.state, "version": 12, "schema": 1, "role": "viewer"])])
        await engine.shutdown()
    }

    @Test func revertAppendsAnEventAndCanBeReverted() async throws {
        let directory = TemporaryDirectory()
        let (engine, _, output) = try await engineWithVersions(3, directory)
        let atOne = try await TodoEngine.replay(from: fileStore(directory, readOnly: true), document: .default, to: 1)
        let atThree = try await engine.state(of: .default)

        #expect(try await engine.revert(.default, to: 1) == 4)
        #expect(try await engine.state(of: .default).state == atOne.state)
        #expect(try await engine.revert(.default, to: 3) == 5)
        #expect(try await engine.state(of: .default).state == atThree.state)
        // Reverting to an equal state changes nothing.
        #expect(try await engine.revert(.default, to: 5) == 5)

        let history = try await engine.history(of: .default, since: 3)
        #expect(history.map(\.action) == [["type": "Revert", "version": 1], ["type": "Revert", "version": 3]])
        var mirror = Mirror()
        try mirror.apply(output.messages)
        #expect(mirror.version == 5)
        #expect(mirror.state == atThree.state)

        let tooNew = await #expect(throws: SyncEngineError.self) { try await engine.revert(.default, to: 6) }
        #expect(tooNew?.kind == .versionNotAvailable)
        await engine.shutdown()

        let restarted = try await makeEngine(directory)
        #expect(try await restarted.state(of: .default) == DocumentState(version: 5, state: atThree.state))
        await restarted.shutdown()
    }

    @Test func historyPagesBySinceAndLimit() async throws {
        let directory = TemporaryDirectory()
        let (engine, _, _) = try await engineWithVersions(5, directory)
        let page = try await engine.history(of: .default, since: 1, limit: 2)
        #expect(page.map(\.version) == [2, 3])
        #expect(page[0].action == (try json(#"{"type":"Add","row":{"name":"row 2","completed":true}}"#)))
        #expect(
            page[0].ops.jsonValue
                == (try json(#"[{"op":"add","path":"/todos/2","value":{"name":"row 2","completed":true}}]"#)))
        await engine.shutdown()
    }
}
