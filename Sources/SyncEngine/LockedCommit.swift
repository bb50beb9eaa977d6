import Glibc

/// The exchange between a document actor and its store's thread during a locked commit: the
/// store locks the document, hands over the events other writers committed since the batch's
/// start version, and waits (holding the lock) for the batch, reduced again on top of them if
/// there were any; the write that follows cannot conflict.
///
/// A shared store's optimistic commits, with several instances writing one document, retried
/// each other's conflicts without end (p99 340 ms, max 1.3 s for three writers); a locked commit
/// reduces a batch at most once more and then writes.
///
/// The store waits for the batch while the actor reduces, either blocking its own thread
/// (`awaitCommit`, PostgreSQL's writer thread) or suspended (`submitted`, a store whose work is
/// async); either way the actor must answer (`submit`) without waiting for the store in between.
/// `end` wakes an actor still waiting for events when the store's job ends without handing any
/// over (it failed first).
public final class LockedCommit: @unchecked Sendable {
    /// What the actor hears from the store's thread.
    public enum Handover: Sendable {
        /// The document is locked; these events (maybe none) came after the batch's start version.
        case events([DocumentEvent])
        /// The store's job ended without locking (it failed or refused first): its result says why.
        case ended
    }

    private enum Phase {
        case locking
        case handedOver(Handover)
        case reducing
        case submitted(StoreCommit?)
        case done
    }

    // Guarded by `mutex`; @unchecked because pthread primitives are not Sendable types.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var phase = Phase.locking
    private var waiting: CheckedContinuation<Handover, Never>?
    /// A store suspended in `submitted`, until the actor submits.
    private var committing: CheckedContinuation<StoreCommit?, Never>?

    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    // MARK: The store

    /// The document is locked: gives the actor the events after the batch's start version.
    public func handOver(_ events: [DocumentEvent]) {
        deliver(.events(events))
    }

    /// Blocks the calling thread until the actor submits the batch to write (nil: write nothing,
    /// release the lock). Only for a store's own thread, never the cooperative pool.
    public func awaitCommit() -> StoreCommit? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            switch phase {
            case .submitted(let commit):
                phase = .done
                return commit
            case .done, .locking:
                return nil  // nothing was handed over: nobody will answer
            case .handedOver, .reducing:
                pthread_cond_wait(condition, mutex)
            }
        }
    }

    /// `awaitCommit` without blocking a thread: suspends until the actor submits the batch to
    /// write (nil: write nothing), for a store whose work runs on the cooperative pool.
    public func submitted() async -> StoreCommit? {
        await withCheckedContinuation { continuation in
            pthread_mutex_lock(mutex)
            switch phase {
            case .submitted(let commit):
                phase = .done
                pthread_mutex_unlock(mutex)
                continuation.resume(returning: commit)
            case .done, .locking:
                pthread_mutex_unlock(mutex)
                continuation.resume(returning: nil)  // nothing was handed over: nobody will answer
            case .handedOver, .reducing:
                committing = continuation
                pthread_mutex_unlock(mutex)
            }
        }
    }

    /// The store's job is over: an actor still waiting for events gets `.ended`.
    public func end() {
        deliver(.ended)
    }

    // MARK: The actor

    /// Waits until the store locked the document (or its job ended).
    public func handover() async -> Handover {
        await withCheckedContinuation { continuation in
            pthread_mutex_lock(mutex)
            switch phase {
            case .handedOver(let handover):
                phase = .reducing
                pthread_mutex_unlock(mutex)
                continuation.resume(returning: handover)
            case .done:
                pthread_mutex_unlock(mutex)
                continuation.resume(returning: .ended)
            default:
                waiting = continuation
                pthread_mutex_unlock(mutex)
            }
        }
    }

    /// The batch to write under the lock (nil: nothing to write).
    public func submit(_ commit: StoreCommit?) {
        pthread_mutex_lock(mutex)
        guard case .reducing = phase else {
            pthread_mutex_unlock(mutex)
            return
        }
        let continuation = committing
        committing = nil
        phase = continuation == nil ? .submitted(commit) : .done
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        continuation?.resume(returning: commit)
    }

    private func deliver(_ handover: Handover) {
        pthread_mutex_lock(mutex)
        guard case .locking = phase else {
            pthread_mutex_unlock(mutex)
            return
        }
        let continuation = waiting
        waiting = nil
        if case .ended = handover {
            phase = .done
        } else {
            phase = continuation == nil ? .handedOver(handover) : .reducing
        }
        pthread_mutex_unlock(mutex)
        continuation?.resume(returning: handover)
    }
}
