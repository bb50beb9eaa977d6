import JSONCodec
import JSONPatch
import SyncAPI
import SyncEngine
import Testing

@Suite struct RevertRouteTests {
    @Test func revertRestoresTheStateAsANewEventThatSessionsReceive() async throws {
        let fixture = try await APIFixture()
        try await fixture.act(#"{"type":"ChangeName","name":"before"}"#)
        let (_, atOne) = try await fixture.json(.get, "/api/docs/default")
        try await fixture.act(#"{"type":"Add","row":{"name":"milk","completed":false}}"#)
        try await fixture.act(#"{"type":"ChangeName","name":"after"}"#)

        let (status, body) = try await fixture.json(.post, "/api/docs/default/revert", body: #"{"version":1}"#)
        #expect(status == 200)
        #expect(body == ["version": 4])

        let (_, now) = try await fixture.json(.get, "/api/docs/default")
        #expect(now["version"] == 4)
        #expect(now["state"] == atOne["state"])

        let (_, history) = try await fixture.json(.get, "/api/docs/default/history")
        let events = try #require(history["events"]?.arrayValue)
        #expect(events.map { $0["version"] } == [1, 2, 3, 4])
        #expect(events[3]["action"] == ["type": "Revert", "version": 1])

        let patches = fixture.output(of: .default).messages.filter { $0["type"] == "Patch" }
        #expect(patches.last?["version"] == 4)
        #expect(patches.last?["ops"] == events[3]["ops"])
        await fixture.shutdown()
    }

    @Test func aRevertCanItselfBeReverted() async throws {
        let fixture = try await APIFixture()
        try await fixture.act(#"{"type":"ChangeName","name":"first"}"#)
        try await fixture.act(#"{"type":"ChangeName","name":"second"}"#)
        let (_, atTwo) = try await fixture.json(.get, "/api/docs/default")
        _ = try await fixture.json(.post, "/api/docs/default/revert", body: #"{"version":1}"#)
        let (status, body) = try await fixture.json(.post, "/api/docs/default/revert", body: #"{"version":2}"#)
        #expect(status == 200)
        #expect(body == ["version": 4])
        let (_, now) = try await fixture.json(.get, "/api/docs/default")
        #expect(now["state"] == atTwo["state"])
        await fixture.shutdown()
    }

    @Test func aRevertToTheFutureIs404() async throws {
        let fixture = try await APIFixture()
        try await fixture.act(#"{"type":"ChangeName","name":"x"}"#)
        let (status, body) = try await fixture.json(.post, "/api/docs/default/revert", body: #"{"version":2}"#)
        #expect(status == 404)
        #expect(body.errorCode == "version_not_available")
        let (_, now) = try await fixture.json(.get, "/api/docs/default")
        #expect(now["version"] == 1)
        await fixture.shutdown()
    }

    @Test(arguments: ["", "not json", "[1]", "{}", #"{"version":-1}"#, #"{"version":"1"}"#, #"{"version":1.5}"#])
    func aBadBodyIs400AndChangesNothing(body: String) async throws {
        let fixture = try await APIFixture()
        try await fixture.act(#"{"type":"ChangeName","name":"x"}"#)
        let (status, answer) = try await fixture.json(.post, "/api/docs/default/revert", body: body)
        #expect(status == 400)
        #expect(answer.errorCode == "invalid_body")
        let (_, now) = try await fixture.json(.get, "/api/docs/default")
        #expect(now["version"] == 1)
        await fixture.shutdown()
    }
}
