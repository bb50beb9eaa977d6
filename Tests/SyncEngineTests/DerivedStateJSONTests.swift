import EngineTestSupport
import FileStore
import JSONCodec
import JSONPatch
import JSONValueCoding
import Testing

@testable import SyncEngine
@testable import TodoModel

/// The engine derives each new state JSON from the previous one through
/// `DocumentModel.jsonValue(of:updating:after:)`. Whatever path a document took (actions,
/// a restart from the log, a revert), its state and the Patches it broadcasts must stay those of
/// a full build.
@Suite struct DerivedStateJSONTests {
    /// The engine's JSON and the model's full build of `state`, both as text with member order.
    private func expectFullBuild(_ engine: TodoEngine, of state: TodoState, _ comment: Comment) async throws {
        let server = try await engine.state(of: .default).state
        #expect(try JSONCodec.encodeString(server) == JSONCodec.encodeString(TodoList.jsonValue(of: state)), comment)
    }

    /// Sends `actions` and applies them to `state` as the engine does.
    private func send(
        _ actions: [(text: String, action: TodoAction)], to engine: TodoEngine, from session: SessionID,
        state: inout TodoState
    ) {
        for (text, action) in actions {
            engine.send(text, from: session)
            try? TodoList.reduce(&state, action)
        }
    }

    private func update(_ index: TodoIndex, _ name: String, _ completed: Bool) -> (text: String, action: TodoAction) {
        (
            #"{"type":"Update","index":\#(index),"row":{"name":"\#(name)","completed":\#(completed)}}"#,
            .update(index: index, row: TodoRow(name: name, completed: completed))
        )
    }

    private func add(_ name: String) -> (text: String, action: TodoAction) {
        (#"{"type":"Add","row":{"name":"\#(name)","completed":false}}"#, .add(TodoRow(name: name, completed: false)))
    }

    private func remove(_ index: TodoIndex) -> (text: String, action: TodoAction) {
        (#"{"type":"Remove","index":\#(index)}"#, .remove(index: index))
    }

    @Test func stateAndPatchesMatchTheFullBuildThroughRestartAndRevert() async throws {
        let directory = TemporaryDirectory()
        var expected = TodoList.initialState
        var engine = try await makeEngine(directory)
        var viewer = CollectingOutput()
        _ = engine.connect(document: .default, since: nil, role: .viewer, output: viewer)
        var editor = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())

        // Row 2 comes back below the highest index: the log replays its `add` after row 4.
        send(
            [add("a"), add("b"), add("c"), add("d"), remove(2), update(3, "c2", true), update(2, "b2", false)],
            to: engine, from: editor, state: &expected)
        send(
            [("{\"type\":\"ChangeName\",\"name\":\"list\"}", .changeName("list")), add("e"), remove(9)],
            to: engine, from: editor, state: &expected)
        try await expectFullBuild(engine, of: expected, "after the first actions")
        let versionBeforeRestart = try await engine.state(of: .default).version
        var mirror = Mirror()
        try mirror.apply(viewer.messages)
        #expect(mirror.state == TodoList.jsonValue(of: expected))
        await engine.shutdown()

        engine = try await makeEngine(directory)
        let restored = try await engine.state(of: .default)
        #expect(restored.version == versionBeforeRestart)
        #expect(restored.state == TodoList.jsonValue(of: expected))
        #expect(Array(restored.state["todos"]?.objectValue?.keys ?? []) == ["1", "3", "4", "2", "5"])
        viewer = CollectingOutput()
        _ = engine.connect(document: .default, since: nil, role: .viewer, output: viewer)
        editor = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        send([update(1, "a2", true), add("f"), remove(4)], to: engine, from: editor, state: &expected)
        try await expectFullBuild(engine, of: expected, "after a restart")

        let stateAtRestart = try JSONValueDecoder().decode(TodoState.self, from: restored.state)
        #expect(try await engine.revert(.default, to: versionBeforeRestart) == versionBeforeRestart + 4)
        expected = stateAtRestart
        try await expectFullBuild(engine, of: expected, "after a revert")
        send([update(3, "c3", true), ("{\"type\":\"RemoveCompleted\"}", .removeCompleted), add("g")],
            to: engine, from: editor, state: &expected)
        try await expectFullBuild(engine, of: expected, "after actions following a revert")

        mirror = Mirror()
        try mirror.apply(viewer.messages)
        #expect(mirror.state == TodoList.jsonValue(of: expected))
        #expect(mirror.version == versionBeforeRestart + 7)
        await engine.shutdown()
    }

    @Test func aFailedWriteReturnsTheModelStateToo() async throws {
        let directory = TemporaryDirectory()
        let storage = FailingStorage()
        let engine = try await makeEngine(directory, storage: storage)
        let session = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        var expected = TodoList.initialState
        send([add("a"), add("b")], to: engine, from: session, state: &expected)
        try await engine.settle()

        storage.failWrites.store(true, ordering: .relaxed)
        var lost = expected
        send([add("lost"), remove(1)], to: engine, from: session, state: &lost)
        try await expectFullBuild(engine, of: expected, "after the failed write")
        storage.failWrites.store(false, ordering: .relaxed)
        // Row 3 again, and row 1 still there: the actions of the failed batch left no trace.
        send([add("kept"), update(1, "a2", true)], to: engine, from: session, state: &expected)
        try await expectFullBuild(engine, of: expected, "after the next actions")
        #expect(expected.todos.keys.sorted() == [1, 2, 3])
        await engine.shutdown()
    }

    /// Actions change the JSON in place (`TodoList.memberChange`); a failed write undoes each
    /// change, putting removed rows back where they were and the name as it was.
    @Test func aFailedWriteUndoesChangesMadeInPlaceInMemberOrder() async throws {
        let directory = TemporaryDirectory()
        let storage = FailingStorage()
        let engine = try await makeEngine(directory, storage: storage)
        let session = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        var expected = TodoList.initialState
        send([add("a"), add("b"), add("c"), add("d"), ("{\"type\":\"ChangeName\",\"name\":\"list\"}", .changeName("list"))],
            to: engine, from: session, state: &expected)
        try await engine.settle()

        storage.failWrites.store(true, ordering: .relaxed)
        for batch in [
            [remove(2)], [remove(1), update(3, "c2", true), remove(4), add("e")],
            [("{\"type\":\"ChangeName\",\"name\":\"lost\"}", .changeName("lost")), remove(3), update(2, "b2", true)],
        ] {
            var lost = expected
            send(batch, to: engine, from: session, state: &lost)
            try await expectFullBuild(engine, of: expected, "after the failed write of \(batch.map(\.text))")
        }
        storage.failWrites.store(false, ordering: .relaxed)
        send([remove(2), update(4, "d2", true), add("e")], to: engine, from: session, state: &expected)
        try await expectFullBuild(engine, of: expected, "after the next actions")
        #expect(expected.todos.keys.sorted() == [1, 3, 4, 5])
        await engine.shutdown()
    }
}
