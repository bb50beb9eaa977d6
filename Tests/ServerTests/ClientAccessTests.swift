import JSONPatch
import SyncClient
import SyncProtocol
import SyncServer
import Testing

/// The client's bearer token, the viewer role, and the client's own message-size limit.
@Suite struct ClientAccessTests {
    static let credentials = ServerConfiguration.Credentials(token: "edit-secret", readToken: "read-secret")

    @Test func withoutTheTokenTheHandshakeIsRefused() async throws {
        try await withServer(ServerConfiguration(credentials: Self.credentials)) { server in
            for token in [nil, "wrong"] as [String?] {
                await #expect {
                    _ = try await server.connectedClient(token: token)
                } throws: { error in
                    if case .connectionFailed = error as? SyncClientError { return true }
                    return false
                }
            }
        }
    }

    @Test func theEditTokenInTheAuthorizationHeaderAllowsActions() async throws {
        try await withServer(ServerConfiguration(credentials: Self.credentials)) { server in
            let client = try await server.connectedClient(token: "edit-secret")
            #expect(try await client.send(action: ["type": "ChangeName", "name": "Secret"]).outcome == .ack(version: 1))
            await client.close()
        }
    }

    @Test func aViewerFollowsChangesButItsActionsAreForbidden() async throws {
        try await withServer(ServerConfiguration(credentials: Self.credentials)) { server in
            let viewer = try await server.connectedClient(token: "read-secret")
            let editor = try await server.connectedClient(token: "edit-secret")
            let refused = try await viewer.send(action: ["type": "ChangeName", "name": "Mine"])
            #expect(refused.outcome.errorCode == "forbidden")
            #expect(try await editor.send(action: ["type": "Add", "row": row("milk")]).outcome == .ack(version: 1))
            #expect(try await viewer.waitForVersion(1) == ["name": "", "todos": ["1": row("milk")]])
            await viewer.close()
            await editor.close()
        }
    }

    @Test func aServerMessageOverTheClientsLimitEndsTheConnection() async throws {
        try await withServer { server in
            var configuration = try SyncClient.Configuration(url: server.url)
            configuration.maximumMessageSize = 200
            let small = try SyncClient(configuration: configuration, logger: server.logger)
            try await small.connect()
            let writer = try await server.connectedClient()
            let longName = String(repeating: "x", count: 300)
            _ = try await writer.send(action: ["type": "ChangeName", "name": .string(longName)])
            let end = await small.waitUntilClosed()
            guard case .protocolViolation(let what) = end else {
                Issue.record("expected a protocol violation, got \(end)")
                return
            }
            #expect(what.contains("200 bytes"))
            // The server and the other clients carry on.
            #expect(try await writer.send(action: ["type": "RemoveCompleted"]).outcome == .ack(version: 1))
            await small.close()
            await writer.close()
        }
    }
}

extension SyncClient.Reply.Outcome {
    var errorCode: String? {
        if case .error(let code, _) = self { return code }
        return nil
    }
}
