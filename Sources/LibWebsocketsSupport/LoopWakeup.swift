import CLibWebsockets
import Synchronization

/// The one door into an lws service thread from other threads: posted items wait in a queue,
/// and `lws_cancel_service`, the only lws call allowed off that thread, is called once until the
/// service thread has taken everything. A broadcast posts between `holdWakeups` and
/// `releaseWakeups`, so the thread wakes once, after its last post: woken at its first, the
/// thread took the rest a few at a time, with a `poll()` over every socket between takes.
package final class LoopWakeup<Item: Sendable>: Sendable {
    /// What the service thread takes.
    package struct Work {
        package var items: [Item]
        /// Stays set once asked.
        package var stopRequested: Bool
    }

    private struct State {
        /// The lws context as a bit pattern; 0 before creation and once destruction begins.
        var context: UInt = 0
        var items: [Item] = []
        var stopRequested = false
        /// A cancel was sent and the service thread has not yet found the queue empty.
        var wakeupPending = false
        /// The context is going: posts are refused.
        var detached = false
        /// `holdWakeups` calls not yet released; a wakeup due meanwhile waits for the last release.
        var holders = 0
        var wakeupHeld = false
    }

    private let state = Mutex(State())
    private let cancelService: @Sendable (OpaquePointer) -> Void

    /// `cancelService` stands in for `lws_cancel_service` in tests.
    package init(cancelService: @escaping @Sendable (OpaquePointer) -> Void = { lws_cancel_service($0) }) {
        self.cancelService = cancelService
    }

    /// Called once the context exists (on the service thread, or before it starts).
    package func attach(context: OpaquePointer) {
        state.withLock { $0.context = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(context))) }
    }

    /// Called on the service thread before `lws_context_destroy`: no wakeups and no posts after
    /// this. Returns what was posted and not taken.
    @discardableResult
    package func detach() -> [Item] {
        state.withLock { state in
            state.context = 0
            state.detached = true
            defer { state.items = [] }
            return state.items
        }
    }

    /// Hands `item` to the service thread. False when it was refused: after `detach()`, or after
    /// `requestStop()` when `refusedOnceStopping` is set.
    @discardableResult
    package func post(_ item: Item, refusedOnceStopping: Bool = false) -> Bool {
        state.withLock { state in
            guard !state.detached, !(refusedOnceStopping && state.stopRequested) else { return false }
            state.items.append(item)
            wake(&state)
            return true
        }
    }

    /// From here until the matching `releaseWakeups` (from any thread; pairs may nest and
    /// overlap), posts queue without waking the service thread; the last release wakes it once if
    /// anything was posted. Posts from other threads meanwhile wait for it too: a broadcast's
    /// `send`s take microseconds.
    package func holdWakeups() {
        state.withLock { $0.holders += 1 }
    }

    package func releaseWakeups() {
        state.withLock { state in
            state.holders -= 1
            if state.holders == 0 && state.wakeupHeld {
                state.wakeupHeld = false
                wake(&state)
            }
        }
    }

    /// Asks the service thread to stop.
    package func requestStop() {
        state.withLock { state in
            state.stopRequested = true
            wake(&state)
        }
    }

    /// Whether `requestStop()` was called.
    package var isStopRequested: Bool {
        state.withLock { $0.stopRequested }
    }

    /// Called on the service thread until it returns no items: everything posted since the last
    /// call. The empty answer re-arms the wakeup.
    package func take() -> Work {
        state.withLock { state in
            let items = state.items
            state.items = []
            if items.isEmpty { state.wakeupPending = false }
            return Work(items: items, stopRequested: state.stopRequested)
        }
    }

    private func wake(_ state: inout State) {
        guard state.holders == 0 else {
            state.wakeupHeld = true
            return
        }
        guard !state.wakeupPending, let context = OpaquePointer(bitPattern: state.context) else { return }
        state.wakeupPending = true
        // Under the lock, so that `detach()` cannot interleave with a cancel in flight.
        cancelService(context)
    }
}
