import JSONCodec
import JSONPatch
import SyncProtocol
import Testing

/// Every server message both ways: the typed value encodes to the bytes the server sends today,
/// and those bytes decode to the same value.
@Suite struct ServerMessageTests {
    static let ops = try! JSONPatch(json: [["op": "replace", "path": "/name", "value": "x"]])
    static let session = PresenceSession(
        session: 3, name: "Ana", client: "tab-1", user: nil, since: 1_700_000_000_000, role: .viewer, focus: "/todos/3")

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Each kind with its wire form, exactly.
    static let cases: [(ServerMessage, String)] = [
        (
            .full(.init(stateKey: "todo", state: ["name": "n"], version: 4, schema: 2, role: .editor)),
            #"{"type":"Full","todo":{"name":"n"},"version":4,"schema":2,"role":"editor"}"#
        ),
        (
            .full(.init(stateKey: "state", state: [:], version: 0, schema: 1, model: "machines", role: .viewer)),
            #"{"type":"Full","state":{},"version":0,"schema":1,"model":"machines","role":"viewer"}"#
        ),
        (
            .patch(.init(ops: ops, version: 5, from: 4)),
            #"{"type":"Patch","ops":[{"op":"replace","path":"/name","value":"x"}],"version":5,"from":4}"#
        ),
        (.ack(.init(id: "a-1", version: 5)), #"{"type":"Ack","id":"a-1","version":5}"#),
        (.ack(.init(id: 7, version: 5)), #"{"type":"Ack","id":7,"version":5}"#),
        (
            .error(.init(id: 7, code: .invalidIndex, message: "no row 9")),
            #"{"type":"Error","id":7,"code":"invalid_index","message":"no row 9"}"#
        ),
        (
            .error(.init(id: nil, code: .rateLimited, message: "slow down")),
            #"{"type":"Error","code":"rate_limited","message":"slow down"}"#
        ),
        (
            .error(.init(id: "p", code: .conflict, message: "/todos/1 changed", version: 9)),
            #"{"type":"Error","id":"p","code":"conflict","message":"/todos/1 changed","version":9}"#
        ),
        (
            .presence([session]),
            #"{"type":"Presence","sessions":[{"session":3,"name":"Ana","client":"tab-1","user":null,"since":1700000000000,"role":"viewer","focus":"/todos/3"}]}"#
        ),
        (
            .presenceJoin(session),
            #"{"type":"PresenceJoin","session":{"session":3,"name":"Ana","client":"tab-1","user":null,"since":1700000000000,"role":"viewer","focus":"/todos/3"}}"#
        ),
        (.presenceLeave(session: 3), #"{"type":"PresenceLeave","session":3}"#),
        (.presenceFocus(session: 3, focus: nil), #"{"type":"PresenceFocus","session":3,"focus":null}"#),
    ]

    @Test(arguments: 0..<cases.count) func encodesAsTheServerSendsAndDecodesBack(index: Int) throws {
        let (message, wire) = Self.cases[index]
        #expect(Self.text(try message.encoded()) == wire)
        let stateKey = if case .full(let full) = message { full.stateKey } else { "todo" }
        #expect(try ServerMessage(text: Array(wire.utf8), stateKey: stateKey) == message)
    }

    @Test func theFastPathsGiveTheTypedBytes() throws {
        let patch = try ServerMessage.patch(Self.ops, version: 5)
        #expect(patch.bytes == (try ServerMessage.patch(.init(ops: Self.ops, version: 5, from: 4)).encoded()))
        let merged = ServerMessage.coalesce([patch, try ServerMessage.patch(Self.ops, version: 6)])
        let both = try JSONPatch(json: .array(Self.ops.jsonValue.arrayValue! + Self.ops.jsonValue.arrayValue!))
        #expect(merged.bytes == (try ServerMessage.patch(.init(ops: both, version: 6, from: 4)).encoded()))
        #expect(ServerMessage.ack(id: "a", version: 2).bytes == (try ServerMessage.ack(.init(id: "a", version: 2)).encoded()))
        for (id, version) in [(JSONValue?.none, UInt64?.none), ("e", 3)] {
            let fast = ServerMessage.error(id: id, code: .conflict, message: "m", version: version)
            let typed = ServerMessage.error(.init(id: id, code: .conflict, message: "m", version: version))
            #expect(fast.bytes == (try typed.encoded()))
        }
        for role in SessionRole.allCases {
            let head = try ServerMessage.fullHead(stateKey: "state", state: ["a": 1], version: 3, schema: 2, model: "m")
            let typed = ServerMessage.full(.init(stateKey: "state", state: ["a": 1], version: 3, schema: 2, model: "m", role: role))
            #expect(head + ServerMessage.fullTail(for: role) == (try typed.encoded()))
        }
    }

    @Test func aServerWithoutVersionsStillDecodes() throws {
        let full = try ServerMessage(text: Array(#"{"type":"Full","todo":{"todos":{}}}"#.utf8))
        #expect(full == .full(.init(stateKey: "todo", state: ["todos": [:]], version: nil)))
        guard case .patch(let patch) = try ServerMessage(text: Array(#"{"type":"Patch","ops":[],"version":3}"#.utf8)) else {
            Issue.record("not a Patch")
            return
        }
        #expect(patch.from == nil && patch.base == 2)
        // Members this release does not know are ignored (rule zero).
        let ack = try ServerMessage(text: Array(#"{"type":"Ack","id":1,"version":2,"later":true}"#.utf8))
        #expect(ack == .ack(.init(id: 1, version: 2)))
    }

    @Test func anErrorCodeOfANewerServerIsKeptAsSent() throws {
        guard case .error(let error) = try ServerMessage(text: Array(#"{"type":"Error","code":"new_code","message":"m"}"#.utf8))
        else {
            Issue.record("not an Error")
            return
        }
        #expect(error.code == "new_code" && error.knownCode == nil)
        #expect(ServerMessage.Error(id: nil, code: .forbidden, message: "").knownCode == .forbidden)
    }

    /// Malformed messages: the error names the message's type and the member that is wrong.
    static let malformed: [(String, String)] = [
        ("{", "not valid JSON"),
        ("[1]", "expected a JSON object, found array"),
        (#"{"version":1}"#, #"missing member "type""#),
        (#"{"type":3}"#, "type: expected a string, found"),
        (#"{"type":"Later"}"#, #"Later: unknown message type "Later""#),
        (#"{"type":"Full","version":1}"#, #"Full: missing member "todo""#),
        (#"{"type":"Full","todo":{},"role":"admin"}"#, #"Full: role: "admin" is not "editor" or "viewer""#),
        (#"{"type":"Patch","version":1}"#, #"Patch: missing member "ops""#),
        (#"{"type":"Patch","ops":[{"op":"jump"}],"version":1}"#, "Patch: ops: "),
        (#"{"type":"Patch","ops":[],"version":-1}"#, "Patch: version: -1 is negative"),
        (#"{"type":"Patch","ops":[],"version":"1"}"#, "Patch: version: expected an integer, found string"),
        (#"{"type":"Ack","version":1}"#, #"Ack: missing member "id""#),
        (#"{"type":"Error","code":"x"}"#, #"Error: missing member "message""#),
        (#"{"type":"Presence","sessions":{}}"#, "Presence: sessions: expected an array, found object"),
        (
            #"{"type":"Presence","sessions":[{"session":1,"client":null,"since":0,"role":"editor","focus":null}]}"#,
            #"Presence: missing member "sessions/0/name""#
        ),
        (#"{"type":"PresenceLeave","session":0}"#, "PresenceLeave: session: 0 is not positive"),
        (#"{"type":"PresenceFocus","session":2}"#, #"PresenceFocus: missing member "focus""#),
    ]

    @Test(arguments: 0..<malformed.count) func malformedInputGivesATypedErrorNamingWhatIsWrong(index: Int) {
        let (text, expected) = Self.malformed[index]
        do {
            let message = try ServerMessage(text: Array(text.utf8))
            Issue.record("\(text) decoded as \(message)")
        } catch {
            #expect(error.description.hasPrefix(expected) || error.description.contains(expected), "\(error)")
        }
    }

    @Test func theTypeOfAnUnknownMessageIsReported() {
        #expect(throws: ServerMessageError(type: "Later", .unknownType("Later"))) {
            try ServerMessage(text: Array(#"{"type":"Later"}"#.utf8))
        }
    }
}

extension JSONValue {
    fileprivate var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { elements } else { nil }
    }
}
