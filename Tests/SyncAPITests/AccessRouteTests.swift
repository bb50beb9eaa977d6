import JSONCodec
import JSONPatch
import SyncAPI
import SyncEngine
import Testing

/// The API checks each request's access against the document it touches (issue 22).
@Suite struct AccessRouteTests {
    private let operator3 = DocumentAccess(
        author: "line-3 operator", read: [DocumentPattern("line-*")], write: [DocumentPattern("line-3")])

    private func json(_ fixture: APIFixture, _ method: HTTPMethod, _ path: String, _ access: DocumentAccess, body: String = "")
        async throws -> (status: Int, value: JSONValue)
    {
        let response = await fixture.api.handle(HTTPRequest(method: method, path: path, body: Array(body.utf8), access: access))
        return (response.status, try JSONCodec.decode(response.body))
    }

    @Test func readNeedsAReadPatternAndTheListIsFiltered() async throws {
        let fixture = try await APIFixture()
        for name in ["line-3", "line-4", "office"] {
            try await fixture.act(#"{"type":"ChangeName","name":"x"}"#, on: DocumentName(name)!)
        }
        let (_, list) = try await json(fixture, .get, "/api/docs", operator3)
        #expect(list["documents"]?.arrayValue?.map { $0["name"] } == ["line-3", "line-4"])
        for path in ["/api/docs/line-4", "/api/docs/line-4/history", "/api/docs/line-4/state?version=1"] {
            #expect(try await json(fixture, .get, path.split(separator: "?").first.map(String.init)!, operator3).status != 403)
        }
        for path in ["/api/docs/office", "/api/docs/office/history", "/api/docs/office/state"] {
            let (status, body) = try await json(fixture, .get, path, operator3)
            #expect(status == 403)
            #expect(body["error"]?["code"] == "forbidden")
        }
        await fixture.shutdown()
    }

    @Test func revertAndMetricsNeedAdminAndTheRevertNamesItsAuthor() async throws {
        let fixture = try await APIFixture()
        try await fixture.act(#"{"type":"ChangeName","name":"first"}"#, on: DocumentName("line-3")!)
        try await fixture.act(#"{"type":"ChangeName","name":"second"}"#, on: DocumentName("line-3")!)
        #expect(try await json(fixture, .post, "/api/docs/line-3/revert", operator3, body: #"{"version":1}"#).status == 403)
        #expect(try await json(fixture, .get, "/metrics", operator3).status == 403)
        let lead = DocumentAccess(author: "quality lead", admin: true)
        #expect(try await json(fixture, .post, "/api/docs/line-3/revert", lead, body: #"{"version":1}"#).value == ["version": 3])
        #expect(await fixture.api.handle(HTTPRequest(method: .get, path: "/metrics", access: lead)).status == 200)
        let (_, history) = try await json(fixture, .get, "/api/docs/line-3/history", lead)
        #expect(history["events"]?.arrayValue?.map { $0["author"] } == [.null, .null, "quality lead"])
        await fixture.shutdown()
    }
}
