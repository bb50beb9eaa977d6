import CMalloc
import Synchronization

/// Hands the memory glibc keeps free in its arenas back to the system once the process has been
/// quiet for `delay`: after a burst of work every thread that ran it (the cooperative pool's, the
/// service thread) keeps megabytes of freed blocks resident, which `malloc_trim(0)` returns.
/// Noting activity costs one uncontended lock; the trim runs at most once per quiet spell.
public final class IdleMemoryTrim: Sendable {
    private struct State {
        /// Bumped by every `noteActivity()`.
        var activity: UInt64 = 0
        /// A task is waiting for the quiet spell.
        var waiting = false
    }

    private let delay: Duration
    private let state = Mutex(State())

    public init(delay: Duration) {
        self.delay = delay
    }

    /// Something ran: trim once nothing else has for `delay`.
    public func noteActivity() {
        let start = state.withLock { state -> Bool in
            state.activity &+= 1
            guard !state.waiting else { return false }
            state.waiting = true
            return true
        }
        if start {
            Task.detached { await self.trimWhenQuiet() }
        }
    }

    private func trimWhenQuiet() async {
        while true {
            let seen = state.withLock { $0.activity }
            do {
                try await Task.sleep(for: delay)
            } catch {
                state.withLock { $0.waiting = false }
                return
            }
            let quiet = state.withLock { state -> Bool in
                guard state.activity == seen else { return false }
                state.waiting = false
                return true
            }
            if quiet {
                malloc_trim(0)
                return
            }
        }
    }
}
