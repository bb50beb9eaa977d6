import EngineTestSupport
import JSONCodec
import JSONPatch
import SyncProtocol
import Testing

@testable import SyncEngine
@testable import TodoModel

/// `StateText` keeps a large state's text in pieces across changes made in place; put together,
/// the pieces must always be the text `JSONCodec.encode` gives for the state, byte for byte.
@Suite struct StateTextTests {
    private func text(_ pieces: StateText) -> [UInt8] {
        var bytes: [UInt8] = []
        pieces.write(to: &bytes)
        return bytes
    }

    @Test func membersSetInPlaceGiveTheEncodedTextAfterEachChange() throws {
        var state: JSONValue = [
            "name": "list", "todos": .object(
                JSONObject((1...50).map { (String($0), ["name": .string("row \($0)"), "completed": false] as JSONValue) })),
            "tags": ["a": 1],
        ]
        var pieces = try #require(try StateText(state))
        #expect(text(pieces) == (try JSONCodec.encode(state)))
        #expect(pieces.count == (try JSONCodec.encode(state)).count)
        let changes: [MemberChange] = [
            MemberChange(object: ["todos"], key: "7", value: ["name": "seven \"quoted\"", "completed": true]),
            MemberChange(object: ["todos"], key: "1", value: nil),
            MemberChange(object: ["todos"], key: "51", value: ["name": "new", "completed": false]),
            MemberChange(object: [], key: "name", value: "renamed"),
            MemberChange(object: [], key: "extra", value: [1, 2.5, nil]),
            MemberChange(object: [], key: "tags", value: nil),
            MemberChange(object: ["todos"], key: "1", value: ["name": "back, last", "completed": false]),
        ]
        for change in changes {
            let isSet = state.setMember(at: change.object[...], change.key, to: change.value)
            #expect(isSet)
            #expect(try pieces.update(object: change.object, key: change.key, in: state))
            let encoded = try JSONCodec.encode(state)
            #expect(text(pieces) == encoded, "after \(change.pointer)")
            #expect(pieces.count == encoded.count, "after \(change.pointer)")
        }
        // The split member itself, or an object below a row, is not kept in pieces: built anew.
        #expect(try !pieces.update(object: [], key: "todos", in: state))
        #expect(try !pieces.update(object: ["todos", "7"], key: "name", in: state))
    }

    @Test(arguments: [JSONLimits.maximumDepth - 3, JSONLimits.maximumDepth - 2])
    func aStateNestedTooDeepForAFullIsRefusedAsTheWholeEncodingRefusesIt(levels: Int) throws {
        var deep: JSONValue = 1
        for _ in 0..<levels { deep = ["d": deep] }
        let state: JSONValue = ["todos": ["1": deep, "2": 2]]
        let whole = try? ServerMessage.fullHead(stateKey: "todo", state: state, version: 1, schema: 1)
        let inPieces = try? StateText(state)
        #expect((whole == nil) == (inPieces == nil))
        #expect((whole == nil) == (levels == JSONLimits.maximumDepth - 2))
    }

    @Test func aFullPutTogetherFromPiecesIsTheEncodedFull() throws {
        let state: JSONValue = ["name": "n", "todos": ["1": ["name": "a", "completed": false]]]
        let pieces = try #require(try StateText(state))
        for model in [nil, "type \"x\""] as [String?] {
            #expect(
                try pieces.fullHead(stateKey: "todo", version: 7, schema: 2, model: model)
                    == ServerMessage.fullHead(stateKey: "todo", state: state, version: 7, schema: 2, model: model))
        }
    }

    /// Through the engine: joins after each of many changes (and after a change made another
    /// way) get the Full of that version, byte for byte.
    @Test func joinsOnABusyLargeListGetTheEncodedFullOfEachVersion() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let editor = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        for index in 1...800 {
            engine.send(#"{"type":"Add","row":{"name":"row \#(index) of the large list","completed":false}}"#, from: editor)
        }
        try await engine.settle()
        let actions = [
            #"{"type":"Update","index":5,"row":{"name":"five","completed":true}}"#,
            #"{"type":"Remove","index":1}"#,
            #"{"type":"Add","row":{"name":"added","completed":false}}"#,
            #"{"type":"ChangeName","name":"busy"}"#,
            #"{"type":"Update","index":3,"row":{"name":"three","completed":true}}"#,
            #"{"type":"RemoveCompleted"}"#,
            #"{"type":"Update","index":1,"row":{"name":"one again, below the highest","completed":false}}"#,
            #"{"type":"Update","index":9,"row":{"name":"nine","completed":false}}"#,
        ]
        for (step, action) in actions.enumerated() {
            engine.send(action, from: editor)
            for role in [SessionRole.editor, .viewer] {
                let output = SharedMessageOutput()
                _ = engine.connect(document: .default, since: nil, role: role, output: output)
                try await engine.settle()
                let state = try await engine.state(of: .default)
                let expected = try ServerMessage.fullHead(
                    stateKey: "todo", state: state.state, version: state.version, schema: 1)
                    + ServerMessage.fullTail(for: role)
                #expect(output.messages.first?.bytes == expected, "step \(step): \(action), \(role)")
            }
        }
        await engine.shutdown()
    }
}
