import EngineTestSupport
import FileStore
import JSONPatch
import Testing

@testable import SyncEngine
@testable import TodoModel

@Suite struct PresenceTests {
    @Test func helloGetsTheRosterAfterTheFullAndOthersHearOfJoinFocusAndLeave() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let ana = CollectingOutput()
        let anaSession = engine.connect(
            document: .default, since: nil, role: .editor, client: ClientID("tab-a"), output: ana)
        engine.send(#"{"type":"Hello","name":"Ana"}"#, from: anaSession)
        try await engine.settle()
        let first = ana.drain()
        #expect(types(first) == ["Full", "Presence"])
        let roster = try #require(first.last?["sessions"]?.arrayValue)
        #expect(roster.count == 1)
        #expect(roster.first?["session"] == .integer(Int64(anaSession.rawValue)))
        #expect(roster.first?["name"] == "Ana")
        #expect(roster.first?["client"] == "tab-a")
        #expect(roster.first?["role"] == "editor")
        #expect(roster.first?["focus"] == .null)
        #expect(roster.first?["since"]?.integerValue ?? 0 > 0)

        let wall = CollectingOutput()
        let wallSession = engine.connect(document: .default, since: nil, role: .viewer, output: wall)
        engine.send(#"{"type":"Hello"}"#, from: wallSession)
        engine.send(#"{"type":"Focus","focus":"/todos/3"}"#, from: anaSession)
        try await engine.settle()
        let join = try #require(ana.drain().first)
        #expect(join["type"] == "PresenceJoin")
        #expect(join["session"]?["role"] == "viewer")
        #expect(join["session"]?["name"] == .null)
        let wallMessages = wall.drain()
        #expect(types(wallMessages) == ["Full", "Presence", "PresenceFocus"])
        #expect(wallMessages[1]["sessions"]?.arrayValue?.count == 2)
        #expect(wallMessages[2]["focus"] == "/todos/3")
        #expect(wallMessages[2]["session"] == .integer(Int64(anaSession.rawValue)))

        engine.disconnect(wallSession)
        try await engine.settle()
        #expect(
            ana.drain() == [
                ["type": "PresenceLeave", "session": .integer(Int64(wallSession.rawValue))]
            ])
        await engine.shutdown()
    }

    @Test func sessionsThatNeverSayHelloGetNoPresenceMessages() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let quiet = CollectingOutput()
        _ = engine.connect(document: .default, since: nil, role: .editor, output: quiet)
        let other = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        engine.send(#"{"type":"Hello","name":"Bo"}"#, from: other)
        engine.send(#"{"type":"Focus","focus":"/name"}"#, from: other)
        try await engine.settle()
        engine.disconnect(other)
        try await engine.settle()
        #expect(types(quiet.messages) == ["Full"])
        await engine.shutdown()
    }

    @Test(arguments: [
        (#"{"type":"Hello","name":"\#(String(repeating: "é", count: 65))"}"#, "invalid_action"),
        (#"{"type":"Hello","name":7}"#, "invalid_action"),
        (#"{"type":"Focus","focus":"/todos/1"}"#, "invalid_action"),  // before Hello
    ])
    func badPresenceMessagesGetAnError(message: String, code: String) async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        engine.send(message, from: session)
        try await engine.settle()
        #expect(output.messages.last?["code"] == .string(code))
        await engine.shutdown()
    }

    @Test func focusIsBoundedRateLimitedAndNeverLogged() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        engine.send(#"{"type":"Hello","name":"Ana"}"#, from: session)
        engine.send(#"{"type":"Focus","focus":"\#(String(repeating: "x", count: 257))"}"#, from: session)
        for row in 0..<Int(PresenceBudget.burst + 1) {
            engine.send(#"{"type":"Focus","focus":"/todos/secret-\#(row)"}"#, from: session)
        }
        engine.send(#"{"type":"Add","row":{"name":"milk","completed":false}}"#, from: session)
        try await engine.settle()
        let errors = output.messages.filter { $0["type"] == "Error" }.map { $0["code"]?.stringValue ?? "" }
        #expect(errors == ["invalid_action", "rate_limited"])
        await engine.shutdown()
        let log = try #require(directory.read("default/log.jsonl"))
        #expect(!log.contains("secret"))
        #expect(log.contains(#""name":"Ana""#), "the event records the Hello name")
    }

    @Test func thePresenceBudgetRefillsOverTime() {
        var budget = PresenceBudget(now: 0)
        var granted: [Bool] = []
        for _ in 0...PresenceBudget.burst { granted.append(budget.spend(now: 0)) }
        granted.append(budget.spend(now: 1000 / PresenceBudget.perSecond))
        granted.append(budget.spend(now: 1000 / PresenceBudget.perSecond))
        #expect(granted == Array(repeating: true, count: Int(PresenceBudget.burst)) + [false, true, false])
    }
}
