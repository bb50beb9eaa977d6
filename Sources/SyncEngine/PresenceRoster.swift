import JSONPatch

/// Who is on a document: the sessions that said `Hello`, with what they chose to show.
///
/// Only sessions that said Hello are listed, and only they are told about the others.
struct PresenceRoster {
    struct Member {
        let session: SessionID
        var name: String?
        let client: ClientID?
        /// Milliseconds since the Unix epoch when the session connected.
        let since: Int64
        let role: SessionRole
        /// What the member is looking at, e.g. `/todos/3`; never logged.
        var focus: String?
        var focusBudget: FocusBudget

        var jsonValue: JSONValue {
            [
                "session": .integer(Int64(clamping: session.rawValue)), "name": name.map(JSONValue.string) ?? .null,
                "client": client.map { .string($0.rawValue) } ?? .null, "since": .integer(since),
                "role": .string(role.protocolName), "focus": focus.map(JSONValue.string) ?? .null,
            ]
        }
    }

    /// At most this many characters in a Hello's `name`.
    static let maximumNameLength = 64
    /// At most this many UTF-8 bytes in a `focus`.
    static let maximumFocusBytes = 256

    /// In the order they said Hello.
    private(set) var members: [Member] = []

    func member(_ session: SessionID) -> Member? {
        members.first { $0.session == session }
    }

    var sessions: [SessionID] { members.map(\.session) }

    /// Adds the session, or renames it if it said Hello before; returns its entry.
    mutating func hello(
        _ session: SessionID, name: String?, client: ClientID?, since: Int64, role: SessionRole, now: Int64
    ) -> Member {
        if let index = members.firstIndex(where: { $0.session == session }) {
            members[index].name = name
            return members[index]
        }
        let member = Member(
            session: session, name: name, client: client, since: since, role: role, focus: nil,
            focusBudget: FocusBudget(now: now))
        members.append(member)
        return member
    }

    /// Removes the session; false if it never said Hello.
    mutating func leave(_ session: SessionID) -> Bool {
        guard let index = members.firstIndex(where: { $0.session == session }) else { return false }
        members.remove(at: index)
        return true
    }

    enum FocusResult {
        case changed
        case notPresent
        case tooFast
    }

    mutating func focus(_ session: SessionID, on focus: String?, now: Int64) -> FocusResult {
        guard let index = members.firstIndex(where: { $0.session == session }) else { return .notPresent }
        guard members[index].focusBudget.spend(now: now) else { return .tooFast }
        members[index].focus = focus
        return .changed
    }
}

/// A token bucket for `Focus` messages: `burst` at once, `perSecond` on average. A cursor moving
/// through a list sends many; others need only the latest few.
struct FocusBudget {
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
