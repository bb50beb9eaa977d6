import Foundation
import JSONPatch
import Logging
import SyncClient
import SyncServer
import Testing

/// The shared client scenarios (tests/client_scenarios.md) for `SyncClient`, against the
/// `patchsync` binary run as a child process, so that `kill_restart_exactly_once` can kill it
/// with SIGKILL. `from_gap_resume` and `wss_through_nginx` need a relay and nginx: they run in
/// tests/test_swift_client.py through `patchsync watch --reconnect` and `patchsync send`.
@Suite(.serialized) struct ClientScenarioTests {
    @Test("scenario connect_full") func connectFull() async throws {
        try await withServerProcess { server in
            let client = try await server.client(path: "/ws/line-1")
            #expect(client.state == ["name": "", "todos": [:]])
            #expect(client.version == 0)
            await client.close()
        }
    }

    @Test("scenario send_ack") func sendAck() async throws {
        try await withServerProcess { server in
            let client = try await server.client()
            #expect(try await client.send(action: ["type": "Add", "row": row("milk")]).outcome == .ack(version: 1))
            #expect(client.version == 1)
            #expect(client.state == ["name": "", "todos": ["1": row("milk")]])
            await client.close()
        }
    }

    @Test("scenario refused_action") func refusedAction() async throws {
        try await withServerProcess { server in
            let client = try await server.client()
            let reply = try await client.send(action: ["type": "Update", "index": -1, "row": row("x")])
            guard case .error(let code, _) = reply.outcome else {
                Issue.record("expected an Error, got \(reply.message)")
                return
            }
            #expect(code == "invalid_index")
            #expect(client.version == 0)
            await client.close()
        }
    }

    @Test("scenario raw_patch") func rawPatch() async throws {
        try await withServerProcess { server in
            let client = try await server.client()
            _ = try await client.send(action: ["type": "Add", "row": row("row")])
            let write: JSONValue = [
                "type": "Patch", "base": 1, "ops": [["op": "replace", "path": "/todos/1/completed", "value": true]],
            ]
            #expect(try await client.send(action: write).outcome == .ack(version: 2))
            #expect(client.state["todos"]?["1"]?["completed"] == true)
            let failing: JSONValue = [
                "type": "Patch",
                "ops": [["op": "test", "path": "/todos/1/completed", "value": false], ["op": "remove", "path": "/todos/1"]],
            ]
            let reply = try await client.send(action: failing)
            guard case .error(let code, _) = reply.outcome else {
                Issue.record("expected test_failed, got \(reply.message)")
                return
            }
            #expect(code == "test_failed")
            #expect(client.version == 2)
            await client.close()
        }
    }

    @Test("scenario other_change_seen") func otherChangeSeen() async throws {
        try await withServerProcess { server in
            let viewer = try await server.client()
            let messages = viewer.messages()
            let writer = try await server.client()
            _ = try await writer.send(action: ["type": "Add", "row": row("from the writer")])
            #expect(try await viewer.waitForVersion(1) == ["name": "", "todos": ["1": row("from the writer")]])
            var patch: JSONValue?
            for await message in messages where message["type"] == "Patch" {
                patch = message
                break
            }
            #expect(patch?["version"] == 1)
            await viewer.close()
            await writer.close()
        }
    }

    @Test("scenario kill_restart_exactly_once") func killRestartExactlyOnce() async throws {
        try await withServerProcess { server in
            let sends = 150
            let client = try await server.client(path: "/ws/crash", reconnect: true)
            let acked = Counter()
            // kill -9 while sends are in flight, twice; the same port and data come back.
            let crashes = Task {
                for threshold in [40, 100] {
                    while acked.value < threshold { try await Task.sleep(for: .milliseconds(2)) }
                    server.kill()
                    try await Task.sleep(for: .milliseconds(300))
                    try server.start()
                }
            }
            var versions: [UInt64] = []
            for number in 0..<sends {
                let reply = try await client.send(action: ["type": "Add", "row": row("part \(number)")])
                guard case .ack(let version?) = reply.outcome else {
                    Issue.record("send \(number): \(reply.message)")
                    return
                }
                versions.append(version)
                acked.increment()
            }
            try await crashes.value
            await client.close()
            #expect(Set(versions).count == sends)
            #expect(versions == versions.sorted())
            #expect(server.starts == 3)

            let check = try await server.client(path: "/ws/crash")
            let names = (check.state["todos"]?.objectValue.map { $0.compactMap { $0.value["name"]?.stringValue } } ?? []).sorted()
            #expect(names == (0..<sends).map { "part \($0)" }.sorted())
            #expect(check.version == UInt64(sends))
            await check.close()
        }
    }

    @Test("scenario token_refused") func tokenRefused() async throws {
        try await withServerProcess(arguments: ["--token", "s3cret"]) { server in
            await #expect {
                _ = try await server.client(token: "wrong")
            } throws: { error in
                guard case .connectionFailed(_, let reason) = error as? SyncClientError else { return false }
                return reason.contains("unauthorized")
            }
            let client = try await server.client(token: "s3cret")
            #expect(try await client.send(action: ["type": "Add", "row": row("allowed")]).outcome == .ack(version: 1))
            await client.close()
        }
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}

/// `patchsync serve` as a child process on 127.0.0.1: started on a free port, restarted on the
/// same one after `kill()` (SIGKILL, no chance to flush anything).
private final class ServerProcess: @unchecked Sendable {
    let binary: String
    let arguments: [String]
    let dataDirectory: String
    private(set) var port = 0
    private(set) var starts = 0
    private var process: Process?
    let logger: Logger

    init(arguments: [String]) throws {
        // PATCHSYNC_BIN names another build; by default the debug build beside these sources.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        binary = ProcessInfo.processInfo.environment["PATCHSYNC_BIN"] ?? root.appendingPathComponent(".build/debug/patchsync").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw FixtureError("no patchsync binary at \(binary): build it with `swift build` first")
        }
        self.arguments = arguments
        dataDirectory = NSTemporaryDirectory() + "patchsync-scenarios-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        var logger = Logger(label: "ClientScenarioTests")
        logger.logLevel = .critical
        self.logger = logger
        LibWebsocketsLog.route(to: logger)
    }

    /// Starts the server (again); a restart on the same port may find it held for a moment.
    func start() throws {
        var lastError: (any Error)?
        for _ in 0..<20 {
            do {
                try spawn()
                starts += 1
                return
            } catch {
                lastError = error
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        throw lastError ?? FixtureError("patchsync did not start")
    }

    private func spawn() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", String(port), "--data", dataDirectory] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line that names the port; then the rest is drained so the server never blocks.
        var text = ""
        let handle = output.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty {
                process.waitUntilExit()
                throw FixtureError("patchsync exited before listening: \(text)")
            }
            text += String(decoding: chunk, as: UTF8.self)
            if let range = text.range(of: #"listening on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let found = text[range].split(separator: ":").last.map(String.init) ?? ""
                port = Int(found) ?? 0
                break
            }
        }
        DispatchQueue.global().async { while !handle.availableData.isEmpty {} }
        self.process = process
    }

    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func client(path: String = "/ws", token: String? = nil, reconnect: Bool = false) async throws -> SyncClient {
        var configuration = try SyncClient.Configuration(url: "ws://127.0.0.1:\(port)\(path)")
        configuration.bearerToken = token
        configuration.replyTimeout = .seconds(60)
        if reconnect {
            configuration.reconnect = SyncClient.ReconnectPolicy(initialDelay: .milliseconds(100), maximumDelay: .seconds(1))
        }
        let client = try SyncClient(configuration: configuration, logger: logger)
        try await client.connect()
        return client
    }

    func stop() {
        kill()
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }
}

private func withServerProcess(arguments: [String] = [], _ body: (ServerProcess) async throws -> Void) async throws {
    let server = try ServerProcess(arguments: arguments)
    defer { server.stop() }
    try server.start()
    try await body(server)
}
