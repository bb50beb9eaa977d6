import EngineTestSupport
import FileStore
import JSONCodec
import JSONPatch
import Testing

@testable import SyncEngine
@testable import TodoModel

/// An engine with rows 1 ("milk") and 3 ("eggs", completed) at version 2, and one editor session.
private func twoRows() async throws -> (TodoEngine, SessionID, CollectingOutput, TemporaryDirectory) {
    let directory = TemporaryDirectory()
    let engine = try await makeEngine(directory)
    let output = CollectingOutput()
    let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
    engine.send(#"{"type":"Update","index":1,"row":{"name":"milk","completed":false}}"#, from: session)
    engine.send(#"{"type":"Update","index":3,"row":{"name":"eggs","completed":true}}"#, from: session)
    try await engine.settle()
    _ = output.drain()
    return (engine, session, output, directory)
}

private func patch(_ ops: String, base: Int? = nil) -> String {
    #"{"type":"Patch","id":"p","ops":\#(ops)\#(base.map { ",\"base\":\($0)" } ?? "")}"#
}

@Suite struct RawPatchTests {
    @Test func aValidPatchAppliesAndTheDiffOfWhatChangedIsBroadcast() async throws {
        let (engine, session, output, directory) = try await twoRows()
        _ = directory
        let viewer = CollectingOutput()
        _ = engine.connect(document: .default, since: 2, role: .viewer, output: viewer)
        // Replaces the whole row, but only `completed` differs.
        engine.send(
            patch(#"[{"op":"replace","path":"/todos/1","value":{"name":"milk","completed":true},"note":"x"}]"#),
            from: session)
        try await engine.settle()
        #expect(
            output.drain() == [
                try json(#"{"type":"Patch","ops":[{"op":"replace","path":"/todos/1/completed","value":true}],"version":3,"from":2}"#),
                try json(#"{"type":"Ack","id":"p","version":3}"#),
            ])
        #expect(types(viewer.messages) == ["Patch"])
        let history = try await engine.history(of: .default, since: 2)
        #expect(history.first?.ops.jsonValue == (try json(#"[{"op":"replace","path":"/todos/1/completed","value":true}]"#)))
        #expect(
            history.first?.action
                == (try json(
                    #"{"type":"Patch","ops":[{"op":"replace","path":"/todos/1","value":{"name":"milk","completed":true}}]}"#)))
        await engine.shutdown()
    }

    @Test func aRowAddedBelowTheHighestIndexIsStoredInIndexOrder() async throws {
        let (engine, session, output, _) = try await twoRows()
        engine.send(patch(#"[{"op":"add","path":"/todos/2","value":{"name":"jam","completed":false}}]"#), from: session)
        try await engine.settle()
        #expect(types(output.drain()) == ["Patch", "Ack"])
        let state = try await engine.state(of: .default)
        #expect(Array(state.state["todos"]?.objectValue?.keys ?? []) == ["1", "2", "3"])
        await engine.shutdown()
    }

    @Test(arguments: [
        (#"[{"op":"replace","path":"/todos/1/completed","value":"yes"}]"#, "/todos/1/completed: expected a boolean"),
        (#"[{"op":"add","path":"/todos/1/colour","value":"red"}]"#, "/todos/1/colour: a member the model does not have"),
        (#"[{"op":"add","path":"/owner","value":"ana"}]"#, "/owner: a member the model does not have"),
        (#"[{"op":"remove","path":"/todos/3/name"}]"#, "/todos/3/name: missing member"),
        (#"[{"op":"add","path":"/todos/x","value":{"name":"a","completed":false}}]"#, "/todos/x"),
        (#"[{"op":"remove","path":"/todos/9"}]"#, "/todos/9"),
        (#"[{"op":"jump","path":"/name"}]"#, "jump"),
        (#"{"op":"remove","path":"/name"}"#, "ops: expected an array"),
    ])
    func aPatchWhoseResultIsNotAStateIsInvalidAndChangesNothing(ops: String, expected: String) async throws {
        let (engine, session, output, _) = try await twoRows()
        engine.send(patch(ops), from: session)
        try await engine.settle()
        let replies = output.drain()
        #expect(replies.count == 1)
        #expect(replies.first?["code"] == "invalid_patch")
        let message = replies.first?["message"]?.stringValue ?? ""
        #expect(message.contains(expected), "\(message)")
        #expect(try await engine.state(of: .default).version == 2)
        await engine.shutdown()
    }

    @Test func aFailedTestRefusesTheWholePatch() async throws {
        let (engine, session, output, _) = try await twoRows()
        engine.send(
            patch(#"[{"op":"replace","path":"/name","value":"x"},{"op":"test","path":"/todos/3/completed","value":false}]"#),
            from: session)
        engine.send(
            patch(#"[{"op":"test","path":"/todos/3/completed","value":true},{"op":"remove","path":"/todos/3"}]"#)
                .replacingOccurrences(of: #""id":"p""#, with: #""id":"q""#),
            from: session)
        try await engine.settle()
        let replies = output.drain()
        #expect(replies.first?["code"] == "test_failed")
        #expect(types(Array(replies.dropFirst())) == ["Patch", "Ack"], "compare-and-set: the second test holds")
        let state = try await engine.state(of: .default)
        #expect(state.state["name"] == "")
        #expect(state.state["todos"]?["3"] == nil)
        await engine.shutdown()
    }

    @Test func anOldBaseIsRebasedWhenNothingItTouchesChanged() async throws {
        let (engine, session, output, _) = try await twoRows()
        // Version 2 -> 3 changes row 3; the patch, made at version 2, touches row 1 only.
        engine.send(#"{"type":"Update","index":3,"row":{"name":"eggs","completed":false}}"#, from: session)
        engine.send(patch(#"[{"op":"replace","path":"/todos/1/name","value":"oat milk"}]"#, base: 2), from: session)
        try await engine.settle()
        #expect(types(output.drain()) == ["Patch", "Patch", "Ack"])
        let state = try await engine.state(of: .default)
        #expect(state.state["todos"]?["1"]?["name"] == "oat milk")
        #expect(state.state["todos"]?["3"]?["completed"] == false)
        await engine.shutdown()
    }

    @Test(arguments: [
        #"[{"op":"replace","path":"/todos/3/completed","value":true}]"#,  // what changed
        #"[{"op":"remove","path":"/todos/3"}]"#,  // a parent of what changed
        #"[{"op":"replace","path":"/todos","value":{}}]"#,  // a further parent
        #"[{"op":"copy","from":"/todos/3","path":"/todos/4"}]"#,  // reads a parent of what changed
    ])
    func anOldBaseThatTouchesWhatChangedIsAConflict(ops: String) async throws {
        // Version 2 -> 3 changes /todos/3/completed only: a sibling such as /todos/3/name would rebase.
        let (engine, session, output, _) = try await twoRows()
        engine.send(#"{"type":"Update","index":3,"row":{"name":"eggs","completed":false}}"#, from: session)
        engine.send(patch(ops, base: 2), from: session)
        try await engine.settle()
        let replies = output.drain()
        #expect(types(replies) == ["Patch", "Error"])
        #expect(replies.last?["code"] == "conflict")
        #expect(replies.last?["version"] == 3)
        #expect(try await engine.state(of: .default).version == 3)
        await engine.shutdown()
    }

    @Test func aBaseOutsideTheRetainedHistoryIsAConflictAndAFutureBaseIsInvalid() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory, retainedEvents: 2, snapshotInterval: 2)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        for index in 1...6 {
            engine.send(#"{"type":"Update","index":\#(index),"row":{"name":"r","completed":false}}"#, from: session)
        }
        try await engine.settle()
        _ = output.drain()
        engine.send(patch(#"[{"op":"replace","path":"/name","value":"n"}]"#, base: 0), from: session)
        engine.send(patch(#"[{"op":"replace","path":"/name","value":"n"}]"#, base: 99), from: session)
        try await engine.settle()
        let replies = output.drain()
        #expect(replies.map { $0["code"] } == ["conflict", "invalid_patch"])
        #expect(replies.first?["version"] == 6)
        await engine.shutdown()
    }

    @Test func viewersAreForbiddenAndLongPatchesRefused() async throws {
        let (engine, session, output, _) = try await twoRows()
        let viewerOutput = CollectingOutput()
        let viewer = engine.connect(document: .default, since: 2, role: .viewer, output: viewerOutput)
        engine.send(patch(#"[{"op":"replace","path":"/name","value":"x"}]"#), from: viewer)
        let ops = "[" + Array(repeating: #"{"op":"test","path":"/name","value":""}"#, count: 1001).joined(separator: ",") + "]"
        engine.send(patch(ops), from: session)
        try await engine.settle()
        #expect(viewerOutput.messages.first?["code"] == "forbidden")
        #expect(output.drain().first?["code"] == "invalid_patch")
        await engine.shutdown()
    }

    @Test func arrayInsertionsTouchTheWholeArray() throws {
        let state = try json(#"{"list":[1,2,3],"map":{"1":1,"2":2}}"#)
        let insertAtZero = try JSONPatch(json: json(#"[{"op":"add","path":"/list/0","value":0}]"#))
        let replaceFirst = try JSONPatch(json: json(#"[{"op":"replace","path":"/list/0","value":0}]"#))
        let addToMap = try JSONPatch(json: json(#"[{"op":"add","path":"/map/3","value":3}]"#))
        let request = try RawPatch(
            ClientMessageParser.envelope(
                .text(Array(#"{"type":"Patch","ops":[{"op":"replace","path":"/list/2","value":9},{"op":"replace","path":"/map/2","value":9}]}"#.utf8)),
                limits: DocumentLimits()))
        #expect(request.firstConflict(with: [insertAtZero], in: state)?.description == "/list/2")
        #expect(request.firstConflict(with: [replaceFirst], in: state) == nil)
        #expect(request.firstConflict(with: [addToMap], in: state) == nil)
    }
}
