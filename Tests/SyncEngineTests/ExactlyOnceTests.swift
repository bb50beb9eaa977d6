import EngineTestSupport
import FileStore
import JSONPatch
import Testing

@testable import SyncEngine
@testable import TodoModel

private let client = ClientID("tab-1")!
private let addMilk = #"{"type":"Add","row":{"name":"milk","completed":false},"id":"a1"}"#

@Suite struct ExactlyOnceTests {
    @Test func clientIDsAreLettersDigitsDashAndUnderscore() {
        #expect(ClientID("Ab-9_z") != nil)
        #expect(ClientID(String(repeating: "x", count: 64)) != nil)
        #expect(ClientID("") == nil)
        #expect(ClientID(String(repeating: "x", count: 65)) == nil)
        #expect(ClientID("a b") == nil)
        #expect(ClientID("é") == nil)
    }

    @Test func aResentActionGetsTheOriginalAckAndChangesNothing() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let first = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, client: client, output: first)
        engine.send(addMilk, from: session)
        try await engine.settle()
        engine.disconnect(session)

        let second = CollectingOutput()
        let again = engine.connect(document: .default, since: nil, role: .editor, client: client, output: second)
        engine.send(addMilk, from: again)
        engine.send(#"{"type":"ChangeName","name":"x","id":"a1"}"#, from: again)
        try await engine.settle()

        let replies = second.messages.dropFirst()  // after the Full
        #expect(replies.first == (try json(#"{"type":"Ack","id":"a1","version":1}"#)))
        #expect(replies.last?["code"] == "duplicate_id")
        #expect(replies.count == 2, "no Patch: nothing was applied again")
        let state = try await engine.state(of: .default)
        #expect(state.version == 1)
        #expect(state.state["todos"]?.objectValue?.count == 1)
        await engine.shutdown()
    }

    @Test func theSameIDFromAnotherClientOrWithoutAClientIsANewAction() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let named = engine.connect(document: .default, since: nil, role: .editor, client: client, output: CollectingOutput())
        let other = engine.connect(
            document: .default, since: nil, role: .editor, client: ClientID("tab-2"), output: CollectingOutput())
        let anonymous = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        engine.send(addMilk, from: named)
        engine.send(addMilk, from: other)
        engine.send(addMilk, from: anonymous)
        engine.send(addMilk, from: anonymous)
        #expect(try await engine.state(of: .default).version == 4)
        // `7` and `"7"` are different ids.
        engine.send(#"{"type":"ChangeName","name":"a","id":7}"#, from: named)
        engine.send(#"{"type":"ChangeName","name":"b","id":"7"}"#, from: named)
        #expect(try await engine.state(of: .default).state["name"] == "b")
        await engine.shutdown()
    }

    @Test func rejectedAndNoOpOutcomesAreRepeatedToo() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, client: client, output: output)
        let bad = #"{"type":"Update","index":-1,"row":{"name":"x","completed":false},"id":"b"}"#
        let noOp = #"{"type":"Remove","index":5,"id":"c"}"#
        engine.send(bad, from: session)
        engine.send(noOp, from: session)
        engine.send(addMilk, from: session)
        engine.send(bad, from: session)
        engine.send(noOp, from: session)
        try await engine.settle()
        let replies = Array(output.messages.dropFirst())
        #expect(types(replies) == ["Error", "Ack", "Patch", "Ack", "Error", "Ack"])
        #expect(replies[4] == replies[0])
        #expect(replies[5] == (try json(#"{"type":"Ack","id":"c","version":0}"#)), "the original Ack, at version 0")
        await engine.shutdown()
    }

    @Test func appliedActionsAreRememberedAcrossARestartFromTheLog() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let session = engine.connect(document: .default, since: nil, role: .editor, client: client, output: CollectingOutput())
        engine.send(addMilk, from: session)
        engine.send(#"{"type":"ChangeName","name":"Shop","id":2}"#, from: session)
        try await engine.settle()
        await engine.shutdown()

        let line = try #require(directory.read("default/log.jsonl")?.split(separator: "\n").first)
        let event = try json(String(line))
        #expect(event["client"] == "tab-1")
        #expect(event["id"] == "a1")
        #expect(event["digest"]?.stringValue == ActionDigest(try json(addMilk).removingID).description)
        #expect(event["action"]?["id"] == nil, "the id is stored beside the action, not in it")

        let restarted = try await makeEngine(directory)
        let output = CollectingOutput()
        let again = restarted.connect(document: .default, since: nil, role: .editor, client: client, output: output)
        restarted.send(#"{"id":2,"name":"Shop","type":"ChangeName"}"#, from: again)  // members in another order
        restarted.send(addMilk, from: again)
        try await restarted.settle()
        #expect(
            Array(output.messages.dropFirst()) == [
                try json(#"{"type":"Ack","id":2,"version":2}"#), try json(#"{"type":"Ack","id":"a1","version":1}"#),
            ])
        #expect(try await restarted.state(of: .default).version == 2)
        let history = try await restarted.history(of: .default)
        #expect(history.map(\.client) == [client, client])
        #expect(history.map(\.actionID) == ["a1", 2])
        await restarted.shutdown()
    }

    @Test func aRepeatInTheSameBatchSharesTheOriginalsFate() async throws {
        let directory = TemporaryDirectory()
        let storage = FailingStorage()
        let engine = try await makeEngine(directory, storage: storage)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, client: client, output: output)
        try await engine.settle()
        storage.failWrites.store(true, ordering: .relaxed)
        engine.send(addMilk, from: session)
        engine.send(addMilk, from: session)
        try await engine.settle()
        storage.failWrites.store(false, ordering: .relaxed)
        engine.send(addMilk, from: session)
        try await engine.settle()

        let replies = Array(output.messages.dropFirst())
        #expect(replies.prefix(2).map { $0["code"] } == ["storage_unavailable", "storage_unavailable"])
        #expect(types(Array(replies.dropFirst(2))) == ["Patch", "Ack"], "a failed write is not remembered")
        #expect(try await engine.state(of: .default).version == 1)
        await engine.shutdown()
    }

    @Test func outcomesExpireAfterTenMinutesUnlessStillInTheRetainedLog() {
        var outcomes = ActionOutcomes()
        let logged = ActionOutcomes.Key(client: client, id: 1)
        let rejected = ActionOutcomes.Key(client: client, id: 2)
        outcomes.recordLogged(logged, digest: ActionDigest(["type": "Add"]), version: 5, time: 0)
        outcomes.recordTransient(
            rejected, digest: ActionDigest(["type": "Remove"]), outcome: .accepted(version: 5), time: 0)

        outcomes.expire(now: ActionOutcomes.lifetime - 1, retainedAfter: 0)
        #expect(outcomes.count == 2)
        outcomes.expire(now: ActionOutcomes.lifetime + 1, retainedAfter: 4)
        #expect(outcomes.count == 1, "the rejected one goes; the logged one is still retained")
        guard case .repeated = outcomes.lookup(logged, digest: ActionDigest(["type": "Add"])) else {
            Issue.record("the logged action is remembered")
            return
        }
        outcomes.expire(now: ActionOutcomes.lifetime + 1, retainedAfter: 5)
        #expect(outcomes.count == 0)
    }

    @Test func transientOutcomesAreBounded() {
        var outcomes = ActionOutcomes()
        for id in 0..<(ActionOutcomes.transientCapacity + 10) {
            outcomes.recordTransient(
                ActionOutcomes.Key(client: client, id: .integer(Int64(id))), digest: ActionDigest([:]),
                outcome: .accepted(version: 0), time: 0)
        }
        #expect(outcomes.count == ActionOutcomes.transientCapacity)
        guard case .new = outcomes.lookup(ActionOutcomes.Key(client: client, id: 0), digest: ActionDigest([:])) else {
            Issue.record("the oldest went first")
            return
        }
    }

    @Test func digestsIgnoreMemberOrderAndNumberSpellingButNotContent() throws {
        let digest = ActionDigest(try json(#"{"a":1,"b":[true,null,"x"],"c":{"d":2.5}}"#))
        #expect(ActionDigest(try json(#"{"c":{"d":2.5},"b":[true,null,"x"],"a":1.0}"#)) == digest)
        #expect(ActionDigest(try json(#"{"a":1,"b":[null,true,"x"],"c":{"d":2.5}}"#)) != digest)
        #expect(ActionDigest(try json(#"{"a":"1","b":[true,null,"x"],"c":{"d":2.5}}"#)) != digest)
        #expect(ActionDigest(try json(#"{"ab":1}"#)) != ActionDigest(try json(#"{"a":"b1"}"#)))
        #expect(ActionDigest(hex: digest.description) == digest)
        #expect(ActionDigest(hex: "xyz") == nil)
    }
}

extension JSONValue {
    fileprivate var removingID: JSONValue {
        guard case .object(var object) = self else { return self }
        object["id"] = nil
        return .object(object)
    }
}
