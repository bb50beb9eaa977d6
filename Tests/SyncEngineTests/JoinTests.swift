import EngineTestSupport
import FileStore
import JSONCodec
import JSONPatch
import Synchronization
import Testing

@testable import SyncEngine
@testable import TodoModel

/// A transport stand-in that keeps the very messages it is handed, to check which are shared.
final class SharedMessageOutput: TransportSession {
    private let received = Mutex<[OutboundMessage]>([])

    func send(_ message: OutboundMessage) {
        received.withLock { $0.append(message) }
    }

    func close(_ code: CloseCode, reason: String) {}

    var messages: [OutboundMessage] { received.withLock { $0 } }

    func decoded() throws -> [JSONValue] {
        try messages.map { try JSONCodec.decode($0.bytes) }
    }
}

@Suite struct JoinTests {
    private func engineWithRows(_ count: Int, _ directory: TemporaryDirectory) async throws -> (TodoEngine, SessionID) {
        let engine = try await makeEngine(directory)
        let session = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        for index in 1...count {
            engine.send(#"{"type":"Add","row":{"name":"row \#(index)","completed":false}}"#, from: session)
        }
        try await engine.settle()
        return (engine, session)
    }

    private func join(
        _ engine: TodoEngine, role: SessionRole = .editor, since: UInt64? = nil
    ) async throws -> SharedMessageOutput {
        let output = SharedMessageOutput()
        _ = engine.connect(document: .default, since: since, role: role, output: output)
        try await engine.settle()
        return output
    }

    @Test func joinsAtOneVersionGetTheVerySameEncodedFull() async throws {
        let directory = TemporaryDirectory()
        let (engine, _) = try await engineWithRows(20, directory)
        let first = try await join(engine)
        let second = try await join(engine)

        #expect(first.messages.count == 1 && second.messages.count == 1)
        #expect(first.messages[0] === second.messages[0])
        let state = try await engine.state(of: .default)
        #expect(
            try first.decoded()
                == [["type": "Full", "todo": state.state, "version": 20, "schema": 1, "role": "editor"]])
        await engine.shutdown()
    }

    @Test func aChangeMakesTheNextJoinSeeTheNewVersion() async throws {
        let directory = TemporaryDirectory()
        let (engine, writer) = try await engineWithRows(3, directory)
        let before = try await join(engine)
        engine.send(#"{"type":"ChangeName","name":"after"}"#, from: writer)
        try await engine.settle()
        let after = try await join(engine)

        #expect(before.messages[0] !== after.messages[0])
        let full = try #require(try after.decoded().first)
        #expect(full["version"] == 4)
        #expect(full["todo"]?["name"] == "after")
        #expect(full["todo"] == (try await engine.state(of: .default)).state)
        await engine.shutdown()
    }

    /// Either role may join first: the second one's Full is made from the first one's bytes.
    @Test(arguments: [[SessionRole.editor, .viewer], [.viewer, .editor]])
    func eachSessionGetsItsOwnRole(order: [SessionRole]) async throws {
        let directory = TemporaryDirectory()
        let (engine, _) = try await engineWithRows(5, directory)
        let state = try await engine.state(of: .default)
        var fulls: [SessionRole: JSONValue] = [:]
        for role in order + order {
            let output = try await join(engine, role: role)
            let full = try #require(try output.decoded().first)
            #expect(fulls[role] == nil || fulls[role] == full, "every join of a role gets the same Full")
            fulls[role] = full
        }

        for (role, name) in [(SessionRole.editor, "editor"), (.viewer, "viewer")] {
            #expect(
                fulls[role] == ["type": "Full", "todo": state.state, "version": 5, "schema": 1, "role": .string(name)])
        }
        await engine.shutdown()
    }

    @Test func resumeSendsTheRetainedPatchesAsBroadcast() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let viewer = try await join(engine, role: .viewer)
        let writer = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        for index in 1...4 {
            engine.send(#"{"type":"Add","row":{"name":"row \#(index)","completed":true}}"#, from: writer)
        }
        try await engine.settle()
        let broadcast = Array(viewer.messages.dropFirst())
        #expect(broadcast.count == 4)

        let resumed = try await join(engine, role: .viewer, since: 1)
        #expect(resumed.messages.count == 3)
        for (sent, retained) in zip(resumed.messages, broadcast.dropFirst()) {
            #expect(sent === retained)
        }
        await engine.shutdown()
    }

    @Test func resumeAfterARestartEncodesEachLoadedPatchOnce() async throws {
        let directory = TemporaryDirectory()
        let (engine, _) = try await engineWithRows(4, directory)
        let broadcast = try await join(engine, since: 0).decoded()
        await engine.shutdown()

        let restarted = try await makeEngine(directory)
        let first = try await join(restarted, role: .viewer, since: 0)
        let second = try await join(restarted, since: 2)
        #expect(try first.decoded() == broadcast)
        #expect(second.messages.count == 2)
        #expect(second.messages[0] === first.messages[2] && second.messages[1] === first.messages[3])
        var mirror = Mirror()
        try mirror.apply([["type": "Full", "todo": ["name": "", "todos": [:]], "version": 0]] + broadcast)
        #expect(mirror.state == (try await restarted.state(of: .default)).state)
        await restarted.shutdown()
    }
}
