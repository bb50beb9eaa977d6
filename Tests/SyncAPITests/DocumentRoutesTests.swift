import JSONCodec
import JSONPatch
import SyncAPI
import SyncEngine
import Testing

@Suite struct DocumentRoutesTests {
    @Test func anEmptyServerListsNoDocuments() async throws {
        let fixture = try await APIFixture()
        let (status, body) = try await fixture.json(.get, "/api/docs")
        #expect(status == 200)
        #expect(body == ["documents": []])
        await fixture.shutdown()
    }

    @Test func listsEveryDocumentWithItsVersionSortedByName() async throws {
        let fixture = try await APIFixture()
        let shop = try #require(DocumentName("shop"))
        try await fixture.act(#"{"type":"ChangeName","name":"a"}"#)
        try await fixture.act(#"{"type":"ChangeName","name":"b"}"#)
        try await fixture.act(#"{"type":"ChangeName","name":"s"}"#, on: shop)
        let (status, body) = try await fixture.json(.get, "/api/docs/")
        #expect(status == 200)
        let lastChange = try await fixture.engine.history(of: .default, since: 1).first?.time
        let shopChange = try await fixture.engine.history(of: shop, since: 0).first?.time
        #expect(
            body == [
                "documents": [
                    ["name": "default", "version": 2, "changed": .integer(try #require(lastChange)), "title": "b"],
                    ["name": "shop", "version": 1, "changed": .integer(try #require(shopChange)), "title": "s"],
                ]
            ])
        await fixture.shutdown()
    }

    @Test func aDocumentsTitleIsItsModelsTitleOrNull() async throws {
        let fixture = try await APIFixture()
        try await fixture.act(#"{"type":"ChangeName","name":"  Line 3  "}"#)
        let title = { () async throws -> JSONValue? in
            try await fixture.json(.get, "/api/docs").1["documents"]?.arrayValue?.first?["title"]
        }
        #expect(try await title() == "Line 3")
        try await fixture.act(#"{"type":"ChangeName","name":" "}"#)
        #expect(try await title() == .null)
        await fixture.shutdown()
    }

    @Test func returnsTheStateAtAPastVersion() async throws {
        let fixture = try await APIFixture()
        try await fixture.act(#"{"type":"ChangeName","name":"first"}"#)
        let first = try await fixture.engine.state(of: .default)
        try await fixture.act(#"{"type":"Add","row":{"name":"milk","completed":false}}"#)
        try await fixture.act(#"{"type":"ChangeName","name":"second"}"#)
        let (status, body) = try await fixture.json(.get, "/api/docs/default/state", query: [("version", "1")])
        #expect(status == 200)
        #expect(body == ["version": 1, "state": first.state])
        let (now, current) = try await fixture.json(.get, "/api/docs/default/state", query: [("version", "3")])
        #expect(now == 200)
        #expect(current["state"]?["name"] == "second")

        let (future, futureBody) = try await fixture.json(.get, "/api/docs/default/state", query: [("version", "4")])
        #expect(future == 404)
        #expect(futureBody.errorCode == "version_not_available")
        for query in [[], [("version", "-1")], [("version", "x")]] {
            let (bad, badBody) = try await fixture.json(.get, "/api/docs/default/state", query: query)
            #expect(bad == 400, "\(query.map(\.1))")
            #expect(badBody.errorCode == "invalid_query", "\(query.map(\.1))")
        }
        await fixture.shutdown()
    }

    @Test func returnsTheStateAndVersionOfADocument() async throws {
        let fixture = try await APIFixture()
        try await fixture.act(#"{"type":"ChangeName","name":"groceries"}"#)
        try await fixture.act(#"{"type":"Add","row":{"name":"milk","completed":false}}"#)
        let (status, body) = try await fixture.json(.get, "/api/docs/default")
        #expect(status == 200)
        #expect(body["version"] == 2)
        #expect(body["state"]?["name"] == "groceries")
        let engineState = try await fixture.engine.state(of: .default)
        #expect(body["state"] == engineState.state)
        await fixture.shutdown()
    }

    @Test func anUnknownDocumentIs404() async throws {
        let fixture = try await APIFixture()
        for path in ["/api/docs/nobody", "/api/docs/nobody/history"] {
            let (status, body) = try await fixture.json(.get, path)
            #expect(status == 404, "\(path)")
            #expect(body.errorCode == "document_not_found", "\(path)")
        }
        let (status, body) = try await fixture.json(.post, "/api/docs/nobody/revert", body: #"{"version":0}"#)
        #expect(status == 404)
        #expect(body.errorCode == "document_not_found")
        await fixture.shutdown()
    }

    @Test(arguments: ["/api/docs/bad.name", "/api/docs/has%20space/history", "/api/docs/\(String(repeating: "x", count: 65))"])
    func aBadDocumentNameIs400(path: String) async throws {
        let fixture = try await APIFixture()
        let (status, body) = try await fixture.json(.get, path)
        #expect(status == 400)
        #expect(body.errorCode == "invalid_name")
        #expect(body["error"]?["message"]?.stringValue?.contains("letters, digits") == true)
        await fixture.shutdown()
    }

    @Test(arguments: ["/api", "/api/other", "/api/docs/default/nothing", "/api/docs/default/history/more", "/apidocs"])
    func unknownPathsAre404WithAJSONError(path: String) async throws {
        let fixture = try await APIFixture()
        try await fixture.act(#"{"type":"ChangeName","name":"x"}"#)
        let response = await fixture.request(.get, path)
        #expect(response.status == 404)
        #expect(response.contentType == "application/json")
        #expect(try JSONCodec.decode(response.body).errorCode == "not_found")
        await fixture.shutdown()
    }

    @Test func theWrongMethodIs405() async throws {
        let fixture = try await APIFixture()
        try await fixture.act(#"{"type":"ChangeName","name":"x"}"#)
        let cases: [(HTTPMethod, String)] = [
            (.post, "/api/docs"), (.post, "/api/docs/default"), (.get, "/api/docs/default/revert"),
            (HTTPMethod(rawValue: "DELETE"), "/api/docs/default"), (.post, "/metrics"),
        ]
        for (method, path) in cases {
            let (status, body) = try await fixture.json(method, path)
            #expect(status == 405, "\(method) \(path)")
            #expect(body.errorCode == "method_not_allowed", "\(method) \(path)")
        }
        await fixture.shutdown()
    }
}
