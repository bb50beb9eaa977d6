import CLibWebsockets
import SyncAPI
import Synchronization

/// An HTTP handler's answer on its way back to the service thread.
struct HTTPCompletion: Sendable {
    /// The connection's key and the request's serial number, to check it is still waiting.
    let connectionKey: UInt
    let serial: UInt64
    let response: HTTPResponse
}

/// The one door into the service thread from other threads: it records what needs
/// attention and calls `lws_cancel_service`, the only lws call allowed off that thread.
final class ServiceWakeup: Sendable {
    private struct State {
        /// The lws context as a bit pattern; 0 before creation and once destruction begins.
        var context: UInt = 0
        var scheduled: [SessionOutbox] = []
        var completions: [HTTPCompletion] = []
        var stopRequested = false
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
    func schedule(_ outbox: SessionOutbox) {
        state.withLock { state in
            state.scheduled.append(outbox)
            Self.cancelService(state.context)
        }
    }

    /// Hands an HTTP handler's response to the service thread.
    func deliver(_ completion: HTTPCompletion) {
        state.withLock { state in
            state.completions.append(completion)
            Self.cancelService(state.context)
        }
    }

    /// Asks the service thread to shut the server down.
    func requestStop() {
        state.withLock { state in
            state.stopRequested = true
            Self.cancelService(state.context)
        }
    }

    /// Called on the service thread: everything scheduled since the last call.
    func takeScheduled() -> (outboxes: [SessionOutbox], completions: [HTTPCompletion], stopRequested: Bool) {
        state.withLock { state in
            let outboxes = state.scheduled
            let completions = state.completions
            state.scheduled = []
            state.completions = []
            return (outboxes, completions, state.stopRequested)
        }
    }

    /// Runs under the lock, so `detach()` cannot interleave with a cancel in flight.
    private static func cancelService(_ context: UInt) {
        guard let pointer = OpaquePointer(bitPattern: context) else { return }
        lws_cancel_service(pointer)
    }
}
