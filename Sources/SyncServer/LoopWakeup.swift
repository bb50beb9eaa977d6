import CLibWebsockets
import SyncAPI
import Synchronization

/// An HTTP handler's answer on its way back to the service thread.
struct HTTPCompletion: Sendable {
    /// The exchange it answers, to check that its connection is still waiting.
    let exchange: HTTPExchange.ID
    let response: HTTPResponse
}

/// The one door into the service thread from other threads: it records what needs attention
/// and calls `lws_cancel_service`, the only lws call allowed off that thread — once until the
/// service thread has taken everything, so a broadcast to 500 sessions costs one wakeup.
final class LoopWakeup: Sendable {
    struct Work {
        var outboxes: [WebSocketOutbox] = []
        var completions: [HTTPCompletion] = []
        /// Stays set once asked.
        var stopRequested = false
    }

    private struct State {
        /// The lws context as a bit pattern; 0 before creation and once destruction begins.
        var context: UInt = 0
        var work = Work()
        /// A cancel was sent and the service thread has not yet found the queue empty.
        var wakeupPending = false
    }

    private let state = Mutex(State())

    /// Called on the service thread once the context exists.
    func attach(context: OpaquePointer) {
        state.withLock { $0.context = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(context))) }
    }

    /// Called on the service thread before `lws_context_destroy`: no wakeups after this.
    func detach() {
        state.withLock { $0.context = 0 }
    }

    /// Asks the service thread to look at `outbox`.
    func schedule(_ outbox: WebSocketOutbox) {
        post { $0.outboxes.append(outbox) }
    }

    /// Hands an HTTP handler's response to the service thread.
    func deliver(_ completion: HTTPCompletion) {
        post { $0.completions.append(completion) }
    }

    /// Asks the service thread to shut the server down.
    func requestStop() {
        post { $0.stopRequested = true }
    }

    /// Called on the service thread until it returns nothing: everything posted since the last
    /// call. The empty answer re-arms the wakeup.
    func take() -> Work {
        state.withLock { state in
            let work = state.work
            state.work = Work(stopRequested: state.work.stopRequested)
            if work.outboxes.isEmpty && work.completions.isEmpty { state.wakeupPending = false }
            return work
        }
    }

    private func post(_ change: (inout Work) -> Void) {
        state.withLock { state in
            change(&state.work)
            guard !state.wakeupPending, let context = OpaquePointer(bitPattern: state.context) else { return }
            state.wakeupPending = true
            // Under the lock, so that `detach()` cannot interleave with a cancel in flight.
            lws_cancel_service(context)
        }
    }
}
