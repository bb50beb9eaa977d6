import EngineTestSupport
import JSONCodec
import JSONPatch
import Synchronization
import Testing

@testable import SyncEngine

/// The transport's thread, as a transport's sessions share it: each message handed to a session
/// outside a broadcast wakes it, and each broadcast that had messages wakes it once, at its end.
final class SharedTransportThread: Sendable {
    private let state = Mutex((broadcasts: 0, held: false, wakeups: 0))

    var wakeups: Int { state.withLock { $0.wakeups } }

    func begin() {
        state.withLock { $0.broadcasts += 1 }
    }

    func end() {
        state.withLock { state in
            state.broadcasts -= 1
            if state.broadcasts == 0 && state.held {
                state.held = false
                state.wakeups += 1
            }
        }
    }

    func messageQueued() {
        state.withLock { state in
            if state.broadcasts > 0 { state.held = true } else { state.wakeups += 1 }
        }
    }
}

/// One session of that transport.
final class SessionOfSharedTransport: TransportSession {
    let thread: SharedTransportThread
    private let received = Mutex<[JSONValue]>([])

    init(_ thread: SharedTransportThread) { self.thread = thread }

    var messages: [JSONValue] { received.withLock { $0 } }

    func send(_ message: OutboundMessage) {
        received.withLock { $0.append((try? JSONCodec.decode(message.bytes)) ?? .null) }
        thread.messageQueued()
    }

    func close(_ code: CloseCode, reason: String) {}

    func beginBroadcast() { thread.begin() }

    func endBroadcast() { thread.end() }
}

@Suite struct BroadcastWakeupTests {
    @Test func aChangesPatchesToEverySessionAndItsAckWakeTheTransportOnce() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let thread = SharedTransportThread()
        let outputs = (0..<5).map { _ in SessionOfSharedTransport(thread) }
        let sessions = outputs.map { engine.connect(document: .default, since: nil, role: .editor, output: $0) }
        try await engine.settle()
        let afterFulls = thread.wakeups

        engine.send(#"{"type":"Add","row":{"name":"pump","completed":false},"id":"a1"}"#, from: sessions[0])
        try await engine.settle()

        #expect(thread.wakeups == afterFulls + 1)
        for output in outputs {
            #expect(output.messages.last?["type"] == (output === outputs[0] ? "Ack" : "Patch"))
        }
        #expect(outputs[0].messages.suffix(2).map { $0["type"] } == ["Patch", "Ack"])
        await engine.shutdown()
    }
}
