import Foundation
import JSONPatch
import SyncClient
import SyncServer
import Testing

@Suite struct ClientReconnectTests {
    @Test func theBackoffGrowsToItsMaximumWithJitterBelowIt() {
        let policy = SyncClient.ReconnectPolicy(
            initialDelay: .milliseconds(100), maximumDelay: .seconds(1), multiplier: 2, jitter: 0.5)
        var generator = SystemRandomNumberGenerator()
        for (failures, full) in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (40, 1.0)] {
            for _ in 0..<20 {
                let delay = policy.delay(afterFailures: failures, using: &generator)
                let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
                #expect(seconds <= full + 1e-9 && seconds >= full / 2 - 1e-9, "after \(failures) failures: \(seconds) s")
            }
        }
    }

    @Test func aReconnectingClientResumesAndSendsWhatWaitedWithoutDoublingAnything() async throws {
        let fixture = try await ServerFixture()
        var configuration = try SyncClient.Configuration(url: fixture.url)
        configuration.reconnect = SyncClient.ReconnectPolicy(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(200))
        let client = try SyncClient(configuration: configuration, logger: fixture.logger)
        let messages = client.messages()
        let received = Task {
            var types: [String] = []
            for await message in messages { types.append(message["type"]?.stringValue ?? "?") }
            return types
        }
        try await client.connect()
        let first = try await client.send(action: ["type": "Add", "row": row("milk")])
        #expect(first.outcome == .ack(version: 1))

        await fixture.server.stop()
        // Sent while the server is away: it waits for the reconnection, then goes out once.
        let offline = Task { try await client.send(action: ["type": "Add", "row": row("eggs")]) }
        let restarted = try await Self.restart(fixture)

        let reply = try await offline.value
        #expect(reply.outcome == .ack(version: 2))
        #expect(client.version == 2)
        #expect(client.state == ["name": "", "todos": ["1": row("milk"), "2": row("eggs")]])
        #expect(try await fixture.engine.state(of: .default).version == 2)
        await client.close()
        #expect(await received.value.filter { $0 == "Full" }.count == 1, "resumed with ?since=, no second Full")

        await restarted.stop()
        await fixture.stop()
    }

    /// A new server for the fixture's engine on the fixture's port, which the old listening
    /// socket may hold for a moment after a stop.
    private static func restart(_ fixture: ServerFixture) async throws -> PatchsyncServer {
        var configuration = ServerConfiguration()
        configuration.listener = .tcp(host: "127.0.0.1", port: fixture.port)
        var lastError: (any Error)?
        for _ in 1...20 {
            let server = PatchsyncServer(configuration: configuration, engine: fixture.engine, logger: fixture.logger)
            do {
                _ = try await server.start()
                return server
            } catch {
                lastError = error
            }
            await server.stop()
            try await Task.sleep(for: .milliseconds(100))
        }
        throw FixtureError("the server did not start again on port \(fixture.port): \(lastError.map { "\($0)" } ?? "")")
    }
}
