import JSONPatch
import Testing

@testable import SyncClient

/// A mirror that falls out of step reconnects for a fresh Full instead of drifting.
/// The bad Patch is handed to the client as if it had come from the server.
@Suite struct ClientResyncTests {
    static let badPatches = [
        #"{"type":"Patch","ops":[{"op":"remove","path":"/todos/99"}],"version":2}"#,
        #"{"type":"Patch","ops":[{"op":"replace","path":"/name","value":"skipped"}],"version":7}"#,
        #"{"type":"Patch","ops":"not a patch","version":2}"#,
    ]

    @Test(arguments: badPatches)
    func aPatchThatCannotBeFollowedBringsAFreshFull(badPatch: String) async throws {
        try await withServer { server in
            let writer = try await server.connectedClient()
            let client = try await server.connectedClient()
            #expect(try await writer.send(action: ["type": "Add", "row": row("milk")]).outcome == .ack(version: 1))
            let expected = try await client.waitForVersion(1)
            let messages = client.messages()

            let connection = try #require(client.core.state.withLock { $0.machine.connection })
            Array(badPatch.utf8).withUnsafeBytes { client.core.receive($0, isBinary: false, on: connection) }

            var types: [JSONValue?] = []
            for await message in messages {
                types.append(message["type"])
                if message["type"] == "Full" { break }
            }
            #expect(types == ["Patch", "Full"])
            #expect(client.state == expected)
            #expect(client.version == 1)
            // It keeps following the document on the new connection.
            #expect(try await writer.send(action: ["type": "ChangeName", "name": "Shop"]).outcome == .ack(version: 2))
            #expect(try await client.waitForVersion(2) == ["name": "Shop", "todos": ["1": row("milk")]])
            #expect(try await client.send(action: ["type": "RemoveCompleted"]).outcome == .ack(version: 2))
            await client.close()
            await writer.close()
        }
    }
}
