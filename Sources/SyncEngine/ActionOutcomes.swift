import DequeModule
import JSONPatch
import SyncProtocol

/// What became of the recent actions of named clients, by `(client, id)`, so that an action
/// resent after a reconnect is answered with its original outcome instead of being applied twice.
///
/// Actions that changed the state are in the log with their client and id, and are rebuilt from
/// it at start-up (`recordLogged`): they are remembered while their event is retained and for at
/// least `lifetime`. Rejected actions and actions that changed nothing are remembered in memory,
/// for at least `lifetime` unless more than `transientCapacity` pile up, when the oldest go first.
///
/// Both kinds together hold at most `maximumBytes` (ids, client names and remembered replies as
/// `estimatedBytes` counts them): past it the oldest outcome goes first, whatever its age, so
/// that a flood of actions cannot grow the map without bound within `lifetime`. (Ids are also
/// bounded, by `ClientEnvelope.maximumIDBytes`, before they get here.)
struct ActionOutcomes {
    typealias Key = ActionKey

    enum Outcome {
        /// Acknowledged at `version`.
        case accepted(version: UInt64)
        /// Refused with this Error message.
        case rejected(OutboundMessage)
    }

    enum Lookup {
        case new
        /// Seen before with the same body: answer with the outcome, apply nothing.
        case repeated(Outcome)
        /// Seen before with another body: `duplicate_id`.
        case differentBody
    }

    private struct Entry {
        let digest: ActionDigest
        let outcome: Outcome
        let time: Int64
        /// The event's version for an action that changed the state; nil for one remembered in memory only.
        let loggedVersion: UInt64?
        /// What the entry costs, as `estimatedBytes` counted it when it was recorded.
        let bytes: Int
    }

    private struct Stamp {
        let key: Key
        let time: Int64
    }

    /// How long every outcome is remembered at least, in milliseconds: ten minutes.
    static let lifetime: Int64 = 10 * 60 * 1000
    /// The most rejected and no-op outcomes kept per document, so a flood of refused actions
    /// cannot use unbounded memory.
    static let transientCapacity = 10_000
    /// The most bytes of outcomes kept per document (see `estimatedBytes`): 8 MiB, like the
    /// history kept in memory. About 25,000 outcomes with 128-byte ids, 40,000 with UUIDs.
    static let defaultMaximumBytes = 8 << 20
    /// What one entry costs besides its key's and reply's bytes: the dictionary slot, the
    /// stamp in its queue, the entry's fields. Measured roughly; it only has to be in proportion.
    static let entryOverheadBytes = 160

    let maximumBytes: Int
    /// The bytes of every entry held, as `estimatedBytes` counts them.
    private(set) var bytes = 0

    /// Every logged action after this version has its outcome here; older ones may be only in
    /// the store (which a shared store is asked for).
    private(set) var completeAfter: UInt64 = 0
    private var entries: [Key: Entry] = [:]
    /// Insertion order of each kind, oldest first, for expiry.
    private var logged: Deque<Stamp> = []
    private var transient: Deque<Stamp> = []

    var count: Int { entries.count }

    init(maximumBytes: Int = Self.defaultMaximumBytes) {
        self.maximumBytes = max(1, maximumBytes)
    }

    /// What remembering `outcome` under `key` costs: the client's name and the id as text, the
    /// remembered reply, and `entryOverheadBytes`.
    static func estimatedBytes(_ key: Key, _ outcome: Outcome) -> Int {
        var bytes = entryOverheadBytes + key.client.rawValue.utf8.count + key.id.estimatedTextSize
        if case .rejected(let reply) = outcome { bytes += reply.count }
        return bytes
    }

    func contains(_ key: Key) -> Bool { entries[key] != nil }

    func lookup(_ key: Key, digest: ActionDigest) -> Lookup {
        guard let entry = entries[key] else { return .new }
        return entry.digest == digest ? .repeated(entry.outcome) : .differentBody
    }

    /// Remembers an action that changed the state, logged as version `version`.
    mutating func recordLogged(_ key: Key, digest: ActionDigest, version: UInt64, time: Int64) {
        let outcome = Outcome.accepted(version: version)
        store(key, Entry(digest: digest, outcome: outcome, time: time, loggedVersion: version, bytes: Self.estimatedBytes(key, outcome)))
        logged.append(Stamp(key: key, time: time))
        evictOverBudget()
    }

    /// Remembers the actions of logged events that name a client and an id (read from the store).
    mutating func recordLogged(_ events: some Sequence<DocumentEvent>) {
        for event in events {
            guard let key = Key(event) else { continue }
            // Lines without a digest hold the action as sent.
            recordLogged(key, digest: event.digest ?? ActionDigest(event.action), version: event.version, time: event.time)
        }
    }

    /// Remembers a loaded document's events: every event after the first one's predecessor
    /// (after `latestVersion` when there are none) is among them.
    mutating func recordLoaded(_ events: [DocumentEvent], latestVersion: UInt64) {
        completeAfter = (events.first?.version ?? latestVersion + 1) - 1
        recordLogged(events)
    }

    /// Remembers a rejected action, or one that changed nothing, in memory.
    mutating func recordTransient(_ key: Key, digest: ActionDigest, outcome: Outcome, time: Int64) {
        store(key, Entry(digest: digest, outcome: outcome, time: time, loggedVersion: nil, bytes: Self.estimatedBytes(key, outcome)))
        transient.append(Stamp(key: key, time: time))
        while transient.count > Self.transientCapacity, let oldest = transient.popFirst() {
            remove(oldest, logged: false)
        }
        evictOverBudget()
    }

    /// Forgets outcomes that did not hold: those of a batch whose write failed.
    mutating func forget(_ keys: [Key]) {
        for key in keys {
            if let entry = entries.removeValue(forKey: key) { bytes -= entry.bytes }
        }
    }

    private mutating func store(_ key: Key, _ entry: Entry) {
        if let previous = entries.updateValue(entry, forKey: key) { bytes -= previous.bytes }
        bytes += entry.bytes
    }

    /// Drops the oldest outcomes, of either kind, until the rest fit in `maximumBytes`. Stamps
    /// whose entry was recorded anew or forgotten cost nothing and are only popped.
    private mutating func evictOverBudget() {
        while bytes > maximumBytes {
            let takeLogged: Bool
            switch (logged.first, transient.first) {
            case (let oldLogged?, let oldTransient?): takeLogged = oldLogged.time <= oldTransient.time
            case (.some, nil): takeLogged = true
            case (nil, .some): takeLogged = false
            case (nil, nil): return
            }
            if takeLogged, let stamp = logged.popFirst() {
                remove(stamp, logged: true)
            } else if let stamp = transient.popFirst() {
                remove(stamp, logged: false)
            }
        }
    }

    /// Drops what is older than `lifetime` at `now` and, for logged actions, no longer retained:
    /// `retainedAfter` is the base version of the retained history.
    mutating func expire(now: Int64, retainedAfter baseVersion: UInt64) {
        let cutoff = now - Self.lifetime
        while let oldest = transient.first, oldest.time < cutoff {
            transient.removeFirst()
            remove(oldest, logged: false)
        }
        while let oldest = logged.first, oldest.time < cutoff {
            if let version = entries[oldest.key]?.loggedVersion, version > baseVersion { break }
            logged.removeFirst()
            remove(oldest, logged: true)
        }
    }

    /// Removes the entry a stamp was made for, unless the key has been recorded anew since.
    private mutating func remove(_ stamp: Stamp, logged: Bool) {
        guard let entry = entries[stamp.key], entry.time == stamp.time, (entry.loggedVersion != nil) == logged
        else { return }
        entries[stamp.key] = nil
        bytes -= entry.bytes
        if let version = entry.loggedVersion { completeAfter = max(completeAfter, version) }
    }
}
