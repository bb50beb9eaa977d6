import EngineTestSupport
import FileStore
import JSONPatch
import Synchronization
import Testing

@testable import SyncEngine
@testable import TodoModel

@Suite struct ConvergenceTests {
    @Test func sessionsConvergeOnTheServerState() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let outputs = (0..<3).map { _ in CollectingOutput() }
        let sessions = outputs.map { engine.connect(document: .default, since: nil, role: .editor, output: $0) }
        for round in 0..<20 {
            let session = sessions[round % sessions.count]
            switch round % 5 {
            case 0, 1:
                engine.send(
                    #"{"type":"Add","row":{"name":"r\#(round)","completed":\#(round % 2 == 0)}}"#, from: session)
            case 2:
                engine.send(
                    #"{"type":"Update","index":\#(round / 2),"row":{"name":"u","completed":true}}"#, from: session)
            case 3: engine.send(#"{"type":"ChangeName","name":"n\#(round)"}"#, from: session)
            default: engine.send(#"{"type":"RemoveCompleted"}"#, from: session)
            }
        }
        let server = try await engine.state(of: .default)
        for output in outputs {
            var mirror = Mirror()
            try mirror.apply(output.messages)
            #expect(mirror.state == server.state)
            #expect(mirror.version == server.version)
        }
        await engine.shutdown()
    }

    @Test func aSessionJoiningMidStreamGetsFullThenEveryLaterPatch() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let writer = CollectingOutput()
        let writing = engine.connect(document: .default, since: nil, role: .editor, output: writer)
        var late: [CollectingOutput] = []
        for index in 0..<30 {
            engine.send(#"{"type":"Add","row":{"name":"\#(index)","completed":false}}"#, from: writing)
            if index % 7 == 0 {
                let output = CollectingOutput()
                late.append(output)
                _ = engine.connect(document: .default, since: nil, role: .viewer, output: output)
            }
        }
        let server = try await engine.state(of: .default)
        for output in late {
            #expect(output.messages.first?["type"] == "Full")
            var mirror = Mirror()
            try mirror.apply(output.messages)
            #expect(mirror.state == server.state)
        }
        await engine.shutdown()
    }

    @Test func disconnectedSessionsReceiveNothingMore() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let leaving = CollectingOutput()
        let staying = CollectingOutput()
        let gone = engine.connect(document: .default, since: nil, role: .editor, output: leaving)
        let here = engine.connect(document: .default, since: nil, role: .editor, output: staying)
        try await engine.settle()
        engine.disconnect(gone)
        engine.send(#"{"type":"ChangeName","name":"after"}"#, from: here)
        engine.send(#"{"type":"ChangeName","name":"ignored"}"#, from: gone)
        try await engine.settle()
        #expect(types(leaving.messages) == ["Full"])
        #expect(types(staying.messages) == ["Full", "Patch"])
        #expect(try await engine.state(of: .default).state["name"] == "after")
        #expect(engine.metricsSnapshot().sessions == 1)
        await engine.shutdown()
    }

    @Test func severalDocumentsAreIsolated() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let kitchen = try #require(DocumentName("kitchen"))
        let garage = try #require(DocumentName("garage-2"))
        let kitchenOutput = CollectingOutput()
        let garageOutput = CollectingOutput()
        let inKitchen = engine.connect(document: kitchen, since: nil, role: .editor, output: kitchenOutput)
        let inGarage = engine.connect(document: garage, since: nil, role: .editor, output: garageOutput)
        engine.send(#"{"type":"ChangeName","name":"Kitchen"}"#, from: inKitchen)
        engine.send(#"{"type":"Add","row":{"name":"pans","completed":false}}"#, from: inKitchen)
        engine.send(#"{"type":"ChangeName","name":"Garage"}"#, from: inGarage)
        try await engine.settle(kitchen)
        try await engine.settle(garage)

        #expect(types(kitchenOutput.messages) == ["Full", "Patch", "Patch"])
        #expect(types(garageOutput.messages) == ["Full", "Patch"])
        #expect(try await engine.state(of: kitchen).version == 2)
        #expect(try await engine.state(of: garage).state == (try json(#"{"name":"Garage","todos":{}}"#)))
        #expect(
            await engine.documents().map { "\($0.name) \($0.version)" } == ["\(garage) 1", "\(kitchen) 2"])
        await #expect(throws: SyncEngineError.self) { try await engine.state(of: .default) }
        await engine.shutdown()

        let restarted = try await makeEngine(directory)
        #expect(try await restarted.state(of: kitchen).state["name"] == "Kitchen")
        #expect(try await restarted.state(of: garage).version == 1)
        await restarted.shutdown()
    }

    @Test func metricsCountWhatHappened() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        engine.send(#"{"type":"ChangeName","name":"a"}"#, from: session)
        engine.send(#"{"type":"ChangeName","name":"a"}"#, from: session)
        engine.send("nope", from: session)
        try await engine.settle()
        let metrics = engine.metricsSnapshot()
        #expect(metrics.actionsApplied == 2)
        #expect(metrics.patchesBroadcast == 1)
        #expect(metrics.rejected[.invalidJSON] == 1)
        #expect(metrics.messagesSent == 3)  // Full, Patch, Error
        #expect(metrics.bytesSent == UInt64(output.byteCount))
        #expect(metrics.syncCount >= 1)
        #expect(metrics.syncBuckets.last == metrics.syncCount)
        #expect(metrics.documentVersions[.default] == 1)
        await engine.shutdown()
    }
}

/// An output that, on its first Patch, calls back into the engine from inside `send`, as a
/// transport closing a slow session or a new connection racing a broadcast would.
private final class ReentrantOutput: TransportSession {
    let inner = CollectingOutput()
    let onFirstPatch: @Sendable () -> Void
    private let fired = Mutex(false)

    init(onFirstPatch: @escaping @Sendable () -> Void) {
        self.onFirstPatch = onFirstPatch
    }

    func send(_ message: OutboundMessage) {
        inner.send(message)
        let isPatch = String(decoding: message.bytes, as: UTF8.self).contains("\"Patch\"")
        let first =
            isPatch
            && fired.withLock { fired in
                defer { fired = true }
                return !fired
            }
        if first { onFirstPatch() }
    }

    func close(_ code: CloseCode, reason: String) {}
}

@Suite struct ReentrancyTests {
    @Test func connectAndDisconnectFromInsideABroadcastDoNotDeadlock() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let joiner = CollectingOutput()
        let selfSession = Mutex<SessionID?>(nil)
        let leaving = ReentrantOutput {
            if let session = selfSession.withLock({ $0 }) { engine.disconnect(session) }
        }
        let joining = ReentrantOutput {
            _ = engine.connect(document: .default, since: nil, role: .viewer, output: joiner)
        }
        let leavingSession = engine.connect(document: .default, since: nil, role: .editor, output: leaving)
        selfSession.withLock { $0 = leavingSession }
        let writer = engine.connect(document: .default, since: nil, role: .editor, output: joining)
        engine.send(#"{"type":"ChangeName","name":"one"}"#, from: writer)
        engine.send(#"{"type":"ChangeName","name":"two"}"#, from: writer)
        try await engine.settle()
        engine.send(#"{"type":"ChangeName","name":"three"}"#, from: writer)
        let state = try await engine.state(of: .default)

        #expect(state.version == 3)
        // Disconnected from inside its first Patch: nothing after that one.
        #expect(types(leaving.inner.messages) == ["Full", "Patch"])
        #expect(types(joining.inner.messages) == ["Full", "Patch", "Patch", "Patch"])
        var mirror = Mirror()
        try mirror.apply(joiner.messages)
        #expect(joiner.messages.first?["type"] == "Full")
        #expect(mirror.state == state.state)
        await engine.shutdown()
    }
}
