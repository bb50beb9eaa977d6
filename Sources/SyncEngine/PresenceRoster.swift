import JSONPatch
import SyncProtocol

/// Who is on a document: the sessions that said `Hello`, with what they chose to show; with a
/// presence bus also the other instances' (`remote`, kept as their messages say).
///
/// Only sessions that said Hello are listed, and only they are told about the others.
struct PresenceRoster {
    struct Member {
        var entry: PresenceEntry
        var presenceBudget: PresenceBudget
    }

    /// At most this many UTF-8 bytes in a `focus`.
    static let maximumFocusBytes = ClientMessage.maximumFocusBytes

    /// This instance's sessions, in the order they said Hello.
    private(set) var members: [Member] = []
    /// Other instances' sessions.
    private(set) var remote: [PresenceEntry]

    init(remote: [PresenceEntry] = []) {
        self.remote = remote
    }

    /// Everyone, as `Presence` lists them: this instance's sessions first.
    var entries: [PresenceEntry] { members.map(\.entry) + remote }

    var sessions: [SessionID] { members.map(\.entry.session) }

    /// The Hello name of a local session.
    func name(of session: SessionID) -> String? {
        members.first { $0.entry.session == session }?.entry.name
    }

    /// Adds the session, or renames it if it said Hello before; returns its entry, or nil when
    /// a rename comes too fast (each one sends the whole list back and tells everyone).
    mutating func hello(
        _ session: SessionID, name: String?, client: ClientID?, user: String? = nil, since: Int64, role: SessionRole,
        now: Int64
    ) -> PresenceEntry? {
        if let index = members.firstIndex(where: { $0.entry.session == session }) {
            guard members[index].presenceBudget.spend(now: now) else { return nil }
            members[index].entry.name = name
            return members[index].entry
        }
        let entry = PresenceEntry(
            session: session, name: name, client: client, user: user, since: since, role: role, focus: nil)
        members.append(Member(entry: entry, presenceBudget: PresenceBudget(now: now)))
        return entry
    }

    /// Removes the session; false if it never said Hello.
    mutating func leave(_ session: SessionID) -> Bool {
        guard let index = members.firstIndex(where: { $0.entry.session == session }) else { return false }
        members.remove(at: index)
        return true
    }

    enum FocusResult {
        case changed
        case notPresent
        case tooFast
    }

    mutating func focus(_ session: SessionID, on focus: String?, now: Int64) -> FocusResult {
        guard let index = members.firstIndex(where: { $0.entry.session == session }) else { return .notPresent }
        guard members[index].presenceBudget.spend(now: now) else { return .tooFast }
        members[index].entry.focus = focus
        return .changed
    }

    /// Applies another instance's change; false when it changes nothing here (already known:
    /// the engine may deliver a change the roster was created with).
    mutating func applyRemote(_ change: PresenceChange) -> Bool {
        remote.apply(change)
    }
}

/// A token bucket for `Focus` messages and renames (a repeated `Hello`): `burst` at once,
/// `perSecond` on average. A cursor moving through a list sends many; others need only the
/// latest few. Each costs a message to every session on the list, so none may come unbounded.
struct PresenceBudget {
    static let perSecond: Int64 = 10
    static let burst: Int64 = 10

    /// Tokens in thousandths, so that refilling by the millisecond stays exact.
    private var tokens: Int64
    private var updated: Int64

    init(now: Int64) {
        tokens = Self.burst * 1000
        updated = now
    }

    mutating func spend(now: Int64) -> Bool {
        let elapsed = max(0, now - updated)
        tokens = min(Self.burst * 1000, tokens + elapsed * Self.perSecond)
        updated = now
        guard tokens >= 1000 else { return false }
        tokens -= 1000
        return true
    }
}
