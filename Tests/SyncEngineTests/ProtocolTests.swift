import EngineTestSupport
import FileStore
import JSONPatch
import JSONValueCoding
import SyncProtocol
import Testing

@testable import SyncEngine
@testable import TodoModel

private let deepAction =
    #"{"id":1,"type":"Add","row":{"name":"x","completed":false,"x":"# + String(repeating: "[", count: 40)
    + String(repeating: "]", count: 40) + "}}"
private let deeperThanTheParser = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)

@Suite struct ProtocolTests {
    @Test func newDocumentSendsEmptyFullAtVersionZero() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        _ = engine.connect(document: .default, since: nil, role: .editor, output: output)
        try await engine.settle()
        #expect(output.messages == [try json(#"{"type":"Full","todo":{"name":"","todos":{}},"version":0,"schema":1,"role":"editor"}"#)])
        await engine.shutdown()
    }

    @Test func everyActionTypeChangesTheState() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        engine.send(#"{"type":"Add","row":{"name":"milk","completed":false,"colour":"red"}}"#, from: session)
        engine.send(#"{"type":"Add","row":{"name":"eggs","completed":true}}"#, from: session)
        engine.send(#"{"type":"ChangeName","name":"Shopping"}"#, from: session)
        engine.send(#"{"type":"Update","index":1,"row":{"name":"oat milk","completed":true}}"#, from: session)
        engine.send(#"{"type":"Update","index":7,"row":{"name":"bread","completed":false}}"#, from: session)
        engine.send(#"{"type":"Add","row":{"name":"jam","completed":false}}"#, from: session)
        engine.send(#"{"type":"Remove","index":2}"#, from: session)
        engine.send(#"{"type":"RemoveCompleted"}"#, from: session)
        let state = try await engine.state(of: .default)

        #expect(state.version == 8)
        #expect(
            state.state
                == (try json(
                    #"{"name":"Shopping","todos":{"7":{"name":"bread","completed":false},"8":{"name":"jam","completed":false}}}"#
                )))
        var mirror = Mirror()
        try mirror.apply(output.messages)
        #expect(mirror.state == state.state)
        #expect(types(output.messages) == ["Full"] + Array(repeating: "Patch", count: 8))
        #expect(
            output.messages[1]["ops"]
                == (try json(#"[{"op":"add","path":"/todos/1","value":{"name":"milk","completed":false}}]"#)))
        await engine.shutdown()
    }

    @Test func stateIsEncodedInNumericIndexOrder() throws {
        let state = TodoState(
            name: "n", todos: [10: TodoRow(name: "c", completed: false), 2: TodoRow(name: "b", completed: true)])
        let encoded = try JSONValueEncoder().encode(state)
        #expect(Array(encoded["todos"]?.objectValue?.keys ?? []) == ["2", "10"])
    }

    @Test func ackFollowsThePatchAndEchoesTheID() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let sender = CollectingOutput()
        let other = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: sender)
        _ = engine.connect(document: .default, since: nil, role: .editor, output: other)
        try await engine.settle()
        _ = sender.drain()
        _ = other.drain()

        engine.send(#"{"type":"Add","id":"a-1","row":{"name":"x","completed":false}}"#, from: session)
        engine.send(#"{"type":"ChangeName","id":42,"name":"list"}"#, from: session)
        engine.send(#"{"type":"ChangeName","id":4.5,"name":"list"}"#, from: session)
        engine.send(#"{"type":"ChangeName","name":"other"}"#, from: session)
        try await engine.settle()

        let messages = sender.drain()
        #expect(types(messages) == ["Patch", "Ack", "Patch", "Ack", "Ack", "Patch"])
        #expect(messages[1] == (try json(#"{"type":"Ack","id":"a-1","version":1}"#)))
        #expect(messages[3] == (try json(#"{"type":"Ack","id":42,"version":2}"#)))
        // Nothing changed: no Patch, and the Ack carries the current version.
        #expect(messages[4] == (try json(#"{"type":"Ack","id":4.5,"version":2}"#)))
        #expect(types(other.drain()) == ["Patch", "Patch", "Patch"])
        await engine.shutdown()
    }

    @Test func aRefusalKeepsItsPlaceAmongTheRepliesAndTheCloseComesLast() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let sender = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: sender)
        try await engine.settle()
        _ = sender.drain()

        engine.send(#"{"type":"ChangeName","id":1,"name":"a"}"#, from: session)
        let refusal = MessageRefusal(
            code: .rateLimited, message: "slow down", close: (.policyViolation, "message rate limit exceeded"))
        engine.refuse(.text(Array(#"{"type":"ChangeName","id":"r","name":"b"}"#.utf8)), from: session, refusal)
        try await engine.settle()

        let messages = sender.drain()
        #expect(types(messages) == ["Patch", "Ack", "Error"])
        #expect(messages[2] == (try json(#"{"type":"Error","id":"r","code":"rate_limited","message":"slow down"}"#)))
        #expect(sender.closeCodes == [.policyViolation])
        #expect(try await engine.state(of: .default).state["name"] == "a")
        #expect(engine.metricsSnapshot().rejected[.rateLimited] == 1)
        await engine.shutdown()
    }

    @Test(arguments: [
        ("this is not json", "invalid_json", false),
        (#"{"type":"Add","#, "invalid_json", false),
        (#"[1,2]"#, "not_an_object", false),
        (#""Add""#, "not_an_object", false),
        (#"{"id":1}"#, "unknown_type", true),
        (#"{"id":1,"type":7}"#, "unknown_type", true),
        (#"{"id":1,"type":"Explode"}"#, "unknown_type", true),
        (#"{"id":1,"type":"Add"}"#, "invalid_action", true),
        (#"{"id":1,"type":"Add","row":{"name":"x"}}"#, "invalid_action", true),
        (#"{"id":1,"type":"Add","row":{"name":1,"completed":false}}"#, "invalid_action", true),
        (#"{"id":1,"type":"ChangeName","name":null}"#, "invalid_action", true),
        (#"{"id":1,"type":"Remove"}"#, "invalid_action", true),
        (#"{"id":1,"type":"Remove","index":"2"}"#, "invalid_action", true),
        (#"{"id":true,"type":"RemoveCompleted"}"#, "invalid_action", false),
        (#"{"id":1,"type":"ChangeName","name":"a\u0000b"}"#, "invalid_action", true),
        (#"{"id":1,"type":"Add","row":{"name":"\u0000","completed":false}}"#, "invalid_action", true),
        (#"{"id":1,"type":"Remove","index":-1}"#, "invalid_index", true),
        (#"{"id":1,"type":"Remove","index":1.5}"#, "invalid_index", true),
        (#"{"id":1,"type":"Update","index":-3,"row":{"name":"x","completed":false}}"#, "invalid_index", true),
        (deepAction, "too_deep", true),
        (deeperThanTheParser, "too_deep", false),
    ])
    func badInputGetsAnErrorAndChangesNothing(input: String, code: String, echoesID: Bool) async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        engine.send(#"{"type":"Add","row":{"name":"keep","completed":false}}"#, from: session)
        try await engine.settle()
        let before = try await engine.state(of: .default)
        _ = output.drain()

        engine.send(input, from: session)
        try await engine.settle()
        let messages = output.drain()
        #expect(messages.count == 1)
        #expect(messages.first?["type"] == "Error")
        #expect(messages.first?["code"] == .string(code))
        #expect(messages.first?["message"]?.stringValue?.isEmpty == false)
        #expect(messages.first?["id"] == (echoesID ? .integer(1) : nil))
        #expect(try await engine.state(of: .default) == before)

        // The session stays usable.
        engine.send(#"{"type":"ChangeName","id":"after","name":"still here"}"#, from: session)
        try await engine.settle()
        #expect(types(output.drain()) == ["Patch", "Ack"])
        await engine.shutdown()
    }

    @Test func invalidActionMessageNamesTheField() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        engine.send(#"{"type":"Add","row":{"name":1,"completed":false}}"#, from: session)
        engine.send(#"{"type":"Update","index":2,"row":{"name":"x"}}"#, from: session)
        try await engine.settle()
        let errors = output.drain().filter { $0["type"] == "Error" }
        #expect(errors.count == 2)
        #expect(errors[0]["message"]?.stringValue?.contains("row.name") == true)
        #expect(errors[1]["message"]?.stringValue?.contains("row.completed") == true)
        // No id was given, so the Error has none.
        #expect(errors[0]["id"] == nil)
        await engine.shutdown()
    }

    @Test func binaryFramesAreRefused() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        try await engine.settle()
        _ = output.drain()
        engine.receive(.binary(byteCount: 12), from: session)
        try await engine.settle()
        #expect(output.drain().map { $0["code"] } == ["binary_not_supported"])
        #expect(try await engine.state(of: .default).version == 0)
        await engine.shutdown()
    }

    @Test func viewersMayNotAct() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let viewer = CollectingOutput()
        let editor = CollectingOutput()
        let watching = engine.connect(document: .default, since: nil, role: .viewer, output: viewer)
        let editing = engine.connect(document: .default, since: nil, role: .editor, output: editor)
        engine.send(#"{"type":"ChangeName","id":"w","name":"mine"}"#, from: watching)
        engine.send(#"{"type":"ChangeName","name":"ours"}"#, from: editing)
        try await engine.settle()
        let messages = viewer.messages
        #expect(types(messages) == ["Full", "Error", "Patch"])
        #expect(messages[1]["code"] == "forbidden")
        #expect(messages[1]["id"] == "w")
        #expect(try await engine.state(of: .default).state["name"] == "ours")
        await engine.shutdown()
    }

    @Test func errorEncoderIsSharedWithTheTransport() throws {
        let message = ServerMessage.error(id: "r", code: .rateLimited, message: "slow down")
        #expect(
            try json(String(decoding: message.bytes, as: UTF8.self))
                == (try json(#"{"type":"Error","id":"r","code":"rate_limited","message":"slow down"}"#)))
        let withoutID = ServerMessage.error(id: nil, code: .rateLimited, message: "slow down")
        #expect(String(decoding: withoutID.bytes, as: UTF8.self).contains("\"id\"") == false)
    }

    @Test func everyCodeIsSnakeCase() {
        for code in SyncErrorCode.allCases {
            #expect(code.rawValue.allSatisfy { $0.isLowercase || $0 == "_" }, "\(code.rawValue)")
        }
    }
}
