import Foundation
import JSONCodec
import JSONPatch
import Synchronization
import Testing

/// `patchsync send` and `patchsync watch` as a user runs them, against the in-process server.
/// The executable is the one built beside this test bundle.
@Suite struct ClientCommandTests {
    static let executable = URL(fileURLWithPath: CommandLine.arguments[0])
        .deletingLastPathComponent().appendingPathComponent("patchsync")

    struct Run {
        var status: Int32
        var output: String
        var errors: String
    }

    /// A running `patchsync`. Its pipes are drained on their own threads and its exit is awaited,
    /// so no test blocks a thread of the cooperative pool that the in-process server also needs.
    final class Command: Sendable {
        let process: Process
        let output: PipeReader
        let errors: PipeReader
        private let exit: Task<Int32, Never>

        init(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = ClientCommandTests.executable
            process.arguments = arguments
            let (stream, ended) = AsyncStream.makeStream(of: Int32.self)
            process.terminationHandler = { process in
                ended.yield(process.terminationStatus)
                ended.finish()
            }
            let outputPipe = Pipe()
            let errorPipe = Pipe()
            process.standardOutput = outputPipe
            process.standardError = errorPipe
            try process.run()
            self.process = process
            output = PipeReader(outputPipe)
            errors = PipeReader(errorPipe)
            exit = Task { await stream.first(where: { _ in true }) ?? -1 }
        }

        func finish() async -> Run {
            let status = await exit.value
            return Run(status: status, output: await output.text(), errors: await errors.text())
        }
    }

    final class PipeReader: Sendable {
        private struct Buffer {
            var data = Data()
            var closed = false
        }

        private let buffer = Mutex(Buffer())

        init(_ pipe: Pipe) {
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread { [self] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    buffer.withLock { $0.data.append(chunk) }
                }
                buffer.withLock { $0.closed = true }
            }
        }

        /// Everything the process wrote, once it closed the pipe.
        func text() async -> String {
            while !buffer.withLock({ $0.closed }) {
                try? await Task.sleep(for: .milliseconds(10))
            }
            return String(decoding: buffer.withLock { $0.data }, as: UTF8.self)
        }

        /// Waits until a whole line has arrived; false if the pipe closed first.
        func waitForFirstLine() async -> Bool {
            while true {
                let (hasLine, closed) = buffer.withLock { ($0.data.contains(UInt8(ascii: "\n")), $0.closed) }
                if hasLine { return true }
                if closed { return false }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    static func run(_ arguments: [String]) async throws -> Run {
        await (try Command(arguments)).finish()
    }

    /// The server under test shares this process's two cooperative threads with CPU-bound tests
    /// that run in parallel and may hold both for seconds: the commands wait longer than a user's default.
    static let patience = ["--timeout", "60"]

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable.path)))
    func sendPrintsTheAckOrTheErrorAndSetsTheExitStatus() async throws {
        try await withServer { server in
            let ack = try await Self.run(["send", server.url, #"{"type":"Add","row":{"name":"milk","completed":false}}"#] + Self.patience)
            #expect(ack.status == 0, "\(ack.errors)")
            #expect(try JSONCodec.decode(ack.output) == ["type": "Ack", "id": 1, "version": 1])

            let error = try await Self.run(["send", server.url, #"{"type":"Fly"}"#] + Self.patience)
            #expect(error.status == 1)
            #expect(try JSONCodec.decode(error.output)["code"] == "unknown_type")

            let notJSON = try await Self.run(["send", server.url, #"{"type":"#])
            #expect(notJSON.status == 2)
            #expect(notJSON.output.isEmpty)
            #expect(notJSON.errors.hasPrefix("patchsync send: the action is not valid JSON"))
            #expect(notJSON.errors.split(separator: "\n").count == 1)

            let client = try await server.connectedClient()
            #expect(client.state == ["name": "", "todos": ["1": row("milk")]])
            await client.close()
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable.path)))
    func sendToAPortWhereNothingListensFailsWithOneLine() async throws {
        let fixture = try await ServerFixture()
        let url = fixture.url
        await fixture.stop()
        let run = try await Self.run(["send", url, #"{"type":"RemoveCompleted"}"#])
        #expect(run.status == 2)
        #expect(run.output.isEmpty)
        #expect(run.errors.hasPrefix("patchsync send: cannot connect to \(url)"))
        #expect(run.errors.split(separator: "\n").count == 1)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable.path)))
    func watchPrintsEachMessageUntilTheServerStops() async throws {
        let fixture = try await ServerFixture()
        let watch = try Command(["watch", fixture.url] + Self.patience)
        // The first line is the Full: from then on the viewer sees every change.
        let connected = await watch.output.waitForFirstLine()
        #expect(connected)
        let writer = try await fixture.connectedClient()
        _ = try await writer.send(action: ["type": "ChangeName", "name": "Shop"])
        await writer.close()
        await fixture.stop()
        let run = await watch.finish()

        #expect(run.status == 0, "\(run.errors)")
        let lines = try run.output.split(separator: "\n").map {
            try JSONCodec.decode(String($0))
        }
        #expect(lines == [
            ["type": "Full", "todo": ["name": "", "todos": [:]], "version": 0, "schema": 1, "role": "editor"],
            ["type": "Patch", "ops": [["op": "replace", "path": "/name", "value": "Shop"]], "version": 1, "from": 0],
        ])
    }
}
