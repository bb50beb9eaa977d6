import JSONCodec
import JSONPatch
import SyncProtocol
import Testing

/// Every client message both ways, and the refusals the server answers malformed ones with.
@Suite struct ClientMessageTests {
    static let limits = ClientMessageLimits(maximumDepth: 8, maximumStringBytes: 64)

    static func decode(_ text: String) throws(ClientMessageError) -> ClientMessage {
        try ClientMessage(text: Array(text.utf8), limits: limits)
    }

    static let cases: [(ClientMessage, JSONValue?, String)] = [
        (.hello(name: "Ana"), nil, #"{"type":"Hello","name":"Ana"}"#),
        (.hello(name: nil), 1, #"{"type":"Hello","id":1}"#),
        (.focus("/todos/3"), nil, #"{"type":"Focus","focus":"/todos/3"}"#),
        (.focus(nil), nil, #"{"type":"Focus","focus":null}"#),
        (
            .patch(ops: try! JSONPatch(json: [["op": "add", "path": "/a", "value": 1]]), base: 4), "p-1",
            #"{"type":"Patch","ops":[{"op":"add","path":"/a","value":1}],"base":4,"id":"p-1"}"#
        ),
        (.patch(ops: try! JSONPatch(json: []), base: nil), nil, #"{"type":"Patch","ops":[]}"#),
        (.action(["type": "Add", "row": ["name": "milk"]]), 2, #"{"type":"Add","row":{"name":"milk"},"id":2}"#),
    ]

    @Test(arguments: 0..<cases.count) func encodesAndDecodesBack(index: Int) throws {
        let (message, id, wire) = Self.cases[index]
        #expect(String(decoding: try message.encoded(id: id), as: UTF8.self) == wire)
        let envelope = try ClientEnvelope(text: Array(wire.utf8), limits: Self.limits)
        #expect(envelope.id == id)
        #expect(try ClientMessage(envelope) == message)
        #expect(message.type == envelope.type)
    }

    /// Malformed messages: the code the Error carries, and a message naming what is wrong.
    static let malformed: [(String, SyncErrorCode, String)] = [
        ("{", .invalidJSON, "not valid JSON"),
        ("[]", .notAnObject, "expected a JSON object, found array"),
        (#"{"id":true,"type":"Add"}"#, .invalidAction, "id: expected a string or a number, found boolean"),
        (#"{"id":"\#(String(repeating: "i", count: 129))"}"#, .invalidAction, "id: 129 bytes of UTF-8; at most 128"),
        (#"{"type":"Add","a":[[[[[[[[[1]]]]]]]]]}"#, .tooDeep, "message nests deeper than 8 levels"),
        (#"{"type":"Add","s":"\#(String(repeating: "s", count: 65))"}"#, .stringTooLong, "a string of 65 bytes"),
        (#"{"type":"Add","s":"a\u0000b"}"#, .invalidAction, "strings may not contain U+0000"),
        (#"{"id":1}"#, .unknownType, #"missing member "type""#),
        (#"{"type":["Add"]}"#, .unknownType, "type: expected a string, found array"),
        (#"{"type":"Hello","name":5}"#, .invalidAction, "name: expected a string, found"),
        (#"{"type":"Focus"}"#, .invalidAction, #"missing member "focus""#),
        (#"{"type":"Patch","ops":{}}"#, .invalidPatch, "ops: expected an array of JSON Patch operations"),
        (#"{"type":"Patch","ops":[{"op":"jump","path":""}]}"#, .invalidPatch, "ops: "),
        (#"{"type":"Patch","ops":[],"base":-1}"#, .invalidPatch, "base: expected a non-negative integer version"),
    ]

    @Test(arguments: 0..<malformed.count) func malformedInputGivesATypedError(index: Int) throws {
        let (text, code, message) = Self.malformed[index]
        do {
            let decoded = try Self.decode(text)
            Issue.record("\(text) decoded as \(decoded)")
        } catch {
            #expect(error.code == code, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func theIDIsEchoedOnceItCouldBeRead() {
        #expect(throws: ClientMessageError(id: 7, code: .unknownType, message: "missing member \"type\"")) {
            try Self.decode(#"{"id":7}"#)
        }
        #expect(ClientEnvelope.id(ofText: Array(#"{"id":"x","type":1}"#.utf8)) == "x")
        #expect(ClientEnvelope.id(ofText: Array("not json".utf8)) == nil)
    }

    @Test func boundsFromTheProtocol() throws {
        let long = String(repeating: "f", count: ClientMessage.maximumFocusBytes + 1)
        let wide = ClientMessageLimits(maximumDepth: 8, maximumStringBytes: 4096)
        #expect(throws: ClientMessageError.self) {
            try ClientMessage(text: Array(#"{"type":"Focus","focus":"\#(long)"}"#.utf8), limits: wide)
        }
        let name = String(repeating: "n", count: 65)
        #expect(throws: ClientMessageError(id: nil, code: .invalidAction, message: "name: at most 64 characters")) {
            try ClientMessage(text: Array(#"{"type":"Hello","name":"\#(name)"}"#.utf8), limits: wide)
        }
        let ops = String(repeating: #"{"op":"test","path":"","value":1},"#, count: ClientMessage.maximumPatchOperations + 1)
        do {
            _ = try ClientMessage(text: Array(#"{"type":"Patch","ops":[\#(ops.dropLast())]}"#.utf8), limits: wide)
            Issue.record("1,001 operations accepted")
        } catch {
            #expect(error.code == .invalidPatch && error.message == "ops: 1001 operations; at most 1000 per message")
        }
    }
}
