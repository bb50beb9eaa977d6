import JSONCodec
import JSONPatch
import SyncAPI
import SyncEngine
import Testing

@Suite struct HistoryRouteTests {
    private func fixtureWithThreeEvents() async throws -> APIFixture {
        let fixture = try await APIFixture()
        try await fixture.act(#"{"type":"ChangeName","name":"one"}"#)
        try await fixture.act(#"{"type":"Add","row":{"name":"milk","completed":false}}"#)
        try await fixture.act(#"{"type":"ChangeName","name":"three","id":7}"#)
        return fixture
    }

    @Test func returnsEveryEventWithVersionTimeActionAndOps() async throws {
        let fixture = try await fixtureWithThreeEvents()
        let (status, body) = try await fixture.json(.get, "/api/docs/default/history")
        #expect(status == 200)
        let events = try #require(body["events"]?.arrayValue)
        #expect(events.map { $0["version"] } == [1, 2, 3])
        #expect(events.allSatisfy { ($0["time"]?.integerValue ?? 0) > 1_600_000_000_000 })
        #expect(events[0]["action"] == ["type": "ChangeName", "name": "one"])
        // The id is the client's business, not the log's.
        #expect(events[2]["action"] == ["type": "ChangeName", "name": "three"])
        let ops = try JSONPatch(json: try #require(events[0]["ops"]))
        #expect(ops.operations == [.replace(path: JSONPointer(tokens: ["name"]), value: "one")])
        await fixture.shutdown()
    }

    @Test func sinceAndLimitSelectAWindow() async throws {
        let fixture = try await fixtureWithThreeEvents()
        let (_, after1) = try await fixture.json(.get, "/api/docs/default/history", query: [("since", "1")])
        #expect(after1["events"]?.arrayValue?.map { $0["version"] } == [2, 3])
        let (_, limited) = try await fixture.json(
            .get, "/api/docs/default/history", query: [("since", "0"), ("limit", "2")])
        #expect(limited["events"]?.arrayValue?.map { $0["version"] } == [1, 2])
        let (status, none) = try await fixture.json(.get, "/api/docs/default/history", query: [("since", "3")])
        #expect(status == 200)
        #expect(none == ["events": [], "oldest": 1, "truncated": false])
        await fixture.shutdown()
    }

    @Test func orderDescGivesTheNewestFirst() async throws {
        let fixture = try await fixtureWithThreeEvents()
        let versions = { (query: [(String, String)]) async throws -> [JSONValue]? in
            try await fixture.json(.get, "/api/docs/default/history", query: query).1["events"]?.arrayValue?.map {
                $0["version"] ?? .null
            }
        }
        #expect(try await versions([("order", "desc"), ("limit", "1")]) == [3])
        #expect(try await versions([("order", "desc")]) == [3, 2, 1])
        #expect(try await versions([("order", "desc"), ("since", "1"), ("limit", "5")]) == [3, 2])
        #expect(try await versions([("order", "asc"), ("limit", "1")]) == [1])
        let (status, body) = try await fixture.json(.get, "/api/docs/default/history", query: [("order", "up")])
        #expect(status == 400)
        #expect(body["error"]?["code"] == "invalid_query")
        await fixture.shutdown()
    }

    @Test func aWindowOlderThanTheRetainedHistorySaysWhereItStarts() async throws {
        let fixture = try await APIFixture(retainedEvents: 2, snapshotInterval: 2)
        for index in 1...5 { try await fixture.act(#"{"type":"ChangeName","name":"v\#(index)"}"#) }
        let (_, page) = try await fixture.json(.get, "/api/docs/default/history", query: [("since", "0")])
        let oldest = try #require(page["oldest"]?.integerValue)
        #expect(oldest > 1)
        #expect(page["truncated"] == true)
        #expect(page["events"]?.arrayValue?.first?["version"] == .integer(oldest))
        let (_, fromOldest) = try await fixture.json(
            .get, "/api/docs/default/history", query: [("since", String(oldest - 1))])
        #expect(fromOldest["truncated"] == false)
        #expect(fromOldest["events"] == page["events"])
        await fixture.shutdown()
    }

    @Test(arguments: [("since", "abc"), ("since", "-1"), ("limit", "x"), ("limit", "10001"), ("since", "")])
    func aBadQueryIs400(name: String, value: String) async throws {
        let fixture = try await fixtureWithThreeEvents()
        let (status, body) = try await fixture.json(.get, "/api/docs/default/history", query: [(name, value)])
        #expect(status == 400)
        #expect(body.errorCode == "invalid_query")
        await fixture.shutdown()
    }

    @Test func aSinceInTheFutureIs404() async throws {
        let fixture = try await fixtureWithThreeEvents()
        let (status, body) = try await fixture.json(.get, "/api/docs/default/history", query: [("since", "4")])
        #expect(status == 404)
        #expect(body.errorCode == "version_not_available")
        await fixture.shutdown()
    }
}
