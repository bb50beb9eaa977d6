import Synchronization
import SyncEngine

/// The inbox entries this instance handed to the engine and has not finished, shared by the
/// listener (which sweeps) and the store (which sees each entry applied or refused).
///
/// A bulk INSERT of thousands of rows must neither flood a document's queue (sessions would wait
/// behind it) nor queue a row twice. So a sweep hands over at most `batch` entries, none already
/// out, and the next sweep comes when those are done (`finished` empties the set and wakes the
/// listener), or at the next notification or periodic check. Bounded: never more than `batch`
/// entries out, plus those whose document never answered (dropped when their lease runs out).
final class InboxFlow: Sendable {
    private struct State {
        /// Entry id → when its lease ends.
        var outstanding: [Int64: ContinuousClock.Instant] = [:]
        var sweepWanted = false
    }

    /// Entries handed over per sweep. Small: an entry costs a document a commit, and a session
    /// joining that document waits behind the entries already in its queue.
    let batch: Int
    /// How long a sweep's claim keeps other instances off a row.
    let lease: Duration
    /// This instance, in `inbox.claimed_by`.
    let claimant = Int64.random(in: 1..<Int64(Int32.max))
    private let state = Mutex(State())
    private let onSweepWanted: @Sendable () -> Void

    init(batch: Int = 16, lease: Duration = .seconds(15), onSweepWanted: @escaping @Sendable () -> Void) {
        self.batch = batch
        self.lease = lease
        self.onSweepWanted = onSweepWanted
    }

    /// How many entries the next sweep may hand over (0 while a batch is out).
    func room(now: ContinuousClock.Instant = .now) -> Int {
        state.withLock { state in
            state.outstanding = state.outstanding.filter { $0.value > now }
            state.sweepWanted = false
            return state.outstanding.isEmpty ? batch : 0
        }
    }

    /// Keeps the entries not already out, and notes them as out.
    func handOver(_ entries: [InboxEntry], now: ContinuousClock.Instant = .now) -> [InboxEntry] {
        state.withLock { state in
            entries.filter { entry in
                guard state.outstanding[entry.id] == nil else { return false }
                state.outstanding[entry.id] = now + lease
                return true
            }
        }
    }

    /// The engine is done with an entry (applied, refused, taken by another instance, or failed).
    func finished(_ id: Int64) {
        let wake = state.withLock { state -> Bool in
            guard state.outstanding.removeValue(forKey: id) != nil, state.outstanding.isEmpty, !state.sweepWanted
            else { return false }
            state.sweepWanted = true
            return true
        }
        if wake { onSweepWanted() }
    }

    /// Whether `finished` asked for a sweep since the last one.
    var isSweepWanted: Bool { state.withLock { $0.sweepWanted } }
}
