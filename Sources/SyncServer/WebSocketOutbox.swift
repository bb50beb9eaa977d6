import SyncEngine
import Synchronization

/// The engine's end of one WebSocket session: the engine queues messages and closes from any
/// thread; the service thread drives the rest of the session's `SessionStateMachine`, which
/// lives behind this one lock.
final class WebSocketOutbox: TransportSession {
    private let machine: Mutex<SessionStateMachine>
    private let wakeup: ServerWakeup

    init(machine: SessionStateMachine, wakeup: ServerWakeup) {
        self.machine = Mutex(machine)
        self.wakeup = wakeup
    }

    // MARK: TransportSession (any thread)

    func send(_ message: OutboundMessage) {
        if machine.withLock({ $0.enqueue(message) }) { wakeup.schedule(self) }
    }

    func close(_ code: CloseCode, reason: String) {
        let frame = SessionStateMachine.CloseFrame(code: code, reason: reason)
        if machine.withLock({ $0.closeAfterQueue(frame) }) { wakeup.schedule(self) }
    }

    func beginBroadcast() {
        wakeup.holdWakeups()
    }

    func endBroadcast() {
        wakeup.releaseWakeups()
    }

    // MARK: Service thread

    /// Runs one transition of the session's state machine.
    func withMachine<Action: Sendable>(_ transition: (inout SessionStateMachine) -> Action) -> Action {
        machine.withLock { transition(&$0) }
    }
}
