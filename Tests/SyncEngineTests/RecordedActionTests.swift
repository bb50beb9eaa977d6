import EngineTestSupport
import FileStore
import Foundation
import JSONPatch
import Testing

@testable import SyncEngine
@testable import TodoModel

/// The log and the history keep actions as the model understood them, and logs written by
/// earlier releases still load.
@Suite struct RecordedActionTests {
    @Test func membersTheModelDoesNotReadNeverReachTheLogOrTheHistory() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        let junk = String(repeating: "j", count: 60_000)
        engine.send(#"{"type":"ChangeName","name":"n","id":1,"junk":"\#(junk)"}"#, from: session)
        engine.send(
            #"{"type":"Add","row":{"name":"a","completed":false,"junk":"\#(junk)"},"more":[1,2]}"#, from: session)
        try await engine.settle()

        let history = try await engine.history(of: .default)
        #expect(history.map(\.action) == [
            ["type": "ChangeName", "name": "n"],
            ["type": "Add", "row": ["name": "a", "completed": false]],
        ])
        await engine.shutdown()
        let log = try #require(directory.read("default/log.jsonl"))
        #expect(!log.contains("junk") && !log.contains("more"))
        #expect(log.utf8.count < 1_000)
    }

    @Test func anOldLogWhoseActionsCarryExtraMembersStillLoads() async throws {
        let directory = TemporaryDirectory()
        try directory.write(
            "default/log.jsonl",
            #"{"version":1,"time":1,"action":{"type":"ChangeName","name":"n","junk":"xxxx"},"ops":[{"op":"replace","path":"/name","value":"n"}]}"#
                + "\n")
        let engine = try await makeEngine(directory)
        #expect(try await engine.state(of: .default) == DocumentState(version: 1, state: ["name": "n", "todos": [:]]))
        #expect(try await engine.history(of: .default).first?.action["junk"] == "xxxx")
        await engine.shutdown()
    }

    @Test func anOldLogWithAnIndexAbove32BitsLoadsAndAddingGoesOn() async throws {
        let directory = TemporaryDirectory()
        let big = "9223372036854775807"
        try directory.write(
            "default/log.jsonl",
            #"{"version":1,"time":1,"action":{"type":"Update","index":\#(big),"row":{"name":"x","completed":false}},"ops":[{"op":"add","path":"/todos/\#(big)","value":{"name":"x","completed":false}}]}"#
                + "\n")
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        engine.send(#"{"type":"Add","id":1,"row":{"name":"a","completed":false}}"#, from: session)
        engine.send(#"{"type":"Update","id":2,"index":\#(big),"row":{"name":"y","completed":false}}"#, from: session)
        try await engine.settle()
        let replies = output.messages.filter { $0["type"] == "Ack" || $0["type"] == "Error" }
        #expect(replies.first == ["type": "Ack", "id": 1, "version": 2])
        #expect(replies.last?["code"] == "invalid_index")
        let state = try await engine.state(of: .default)
        #expect(state.state["todos"] == [big: ["name": "x", "completed": false], "1": ["name": "a", "completed": false]])
        await engine.shutdown()
    }
}
