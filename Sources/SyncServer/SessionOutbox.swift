import DequeModule
import SyncEngine
import Synchronization

/// One session's outbound queue: the engine fills it from any thread, the service
/// thread drains it, one message per WRITEABLE callback.
final class SessionOutbox: SessionOutput {
    /// What the service thread should do next for this session.
    enum WriteStep {
        case write(OutboundMessage, more: Bool)
        case close(CloseCode, reason: String)
        case idle
    }

    /// What the service thread found when it was woken for this session.
    enum Notice {
        /// Messages or a close are waiting behind the queue: ask for WRITEABLE.
        case writable
        /// The session fell too far behind: close it now, dropping the queue.
        case closeNow(CloseCode, reason: String)
        case nothing
    }

    private struct State {
        var queue = Deque<OutboundMessage>()
        var queuedBytes = 0
        var accepting = true
        var close: (code: CloseCode, reason: String)?
        var closeImmediately = false
        var scheduled = false

        var isEmpty: Bool { queue.isEmpty }

        mutating func removeAll() {
            queue = []
            queuedBytes = 0
        }

        mutating func popFirst() -> OutboundMessage? {
            guard let message = queue.popFirst() else { return nil }
            queuedBytes -= message.count
            return message
        }
    }

    /// The wsi this outbox belongs to, as a bit pattern: lets the service thread
    /// find its session without keeping an lws pointer in shared state.
    let connectionKey: UInt
    private let queueLimitBytes: Int
    private let wakeup: ServiceWakeup
    private let state = Mutex(State())

    init(connectionKey: UInt, queueLimitBytes: Int, wakeup: ServiceWakeup) {
        self.connectionKey = connectionKey
        self.queueLimitBytes = queueLimitBytes
        self.wakeup = wakeup
    }

    // MARK: SessionOutput (any thread)

    func send(_ message: OutboundMessage) {
        let limit = queueLimitBytes
        let wake = state.withLock { state -> Bool in
            guard state.accepting else { return false }
            state.queue.append(message)
            state.queuedBytes += message.count
            if state.queuedBytes > limit {
                state.removeAll()
                state.accepting = false
                state.close = (.tryAgainLater, "client too slow: more than \(limit) bytes queued")
                state.closeImmediately = true
            }
            return Self.markScheduled(&state)
        }
        if wake { wakeup.schedule(self) }
    }

    func close(_ code: CloseCode, reason: String) {
        let wake = state.withLock { state -> Bool in
            guard state.accepting else { return false }
            state.accepting = false
            state.close = (code, reason)
            return Self.markScheduled(&state)
        }
        if wake { wakeup.schedule(self) }
    }

    private static func markScheduled(_ state: inout State) -> Bool {
        guard !state.scheduled else { return false }
        state.scheduled = true
        return true
    }

    // MARK: Service thread

    /// Clears the scheduled mark and says what the wakeup was for.
    func takeNotice() -> Notice {
        state.withLock { state in
            state.scheduled = false
            if state.closeImmediately, let close = state.close {
                return .closeNow(close.code, reason: close.reason)
            }
            return state.isEmpty && state.close == nil ? .nothing : .writable
        }
    }

    /// The next message to write, or the close that follows the last one.
    func nextWriteStep() -> WriteStep {
        state.withLock { state in
            if let message = state.popFirst() {
                return .write(message, more: !state.isEmpty || state.close != nil)
            }
            if let close = state.close {
                return .close(close.code, reason: close.reason)
            }
            return .idle
        }
    }

    /// Stops taking messages; what is queued is still written, then the session closes with `code`.
    func closeAfterFlush(_ code: CloseCode, reason: String) {
        state.withLock { state in
            state.accepting = false
            if state.close == nil {
                state.close = (code, reason)
            }
        }
    }

    /// The connection is gone: drop everything and take nothing more.
    func discard() {
        state.withLock { state in
            state.accepting = false
            state.removeAll()
        }
    }
}
