import JSONPatch
import SyncProtocol

/// One session on a document's presence list, as `Presence` and `PresenceJoin` show it:
/// `{"session":N,"name":..,"client":..,"user":..,"since":MS,"role":"editor","focus":..}` (`user`:
/// the `sub` of the session's signed token, or null). Also what
/// instances sharing a database tell each other about their sessions.
public struct PresenceEntry: Sendable, Equatable {
    public let session: SessionID
    public var name: String?
    public let client: ClientID?
    /// The `sub` of the session's signed token; nil for static tokens.
    public let user: String?
    /// Milliseconds since the Unix epoch when the session connected.
    public let since: Int64
    public let role: SessionRole
    /// What the session is looking at, e.g. `/todos/3`; never logged.
    public var focus: String?

    public init(
        session: SessionID, name: String?, client: ClientID?, user: String? = nil, since: Int64, role: SessionRole,
        focus: String?
    ) {
        self.session = session
        self.name = name
        self.client = client
        self.user = user
        self.since = since
        self.role = role
        self.focus = focus
    }

    /// The entry as the presence messages show it.
    var presenceSession: PresenceSession {
        PresenceSession(
            session: session.rawValue, name: name, client: client?.rawValue, user: user, since: since, role: role,
            focus: focus)
    }

    /// As `Presence` and `PresenceJoin` write it; also what instances tell each other.
    var jsonValue: JSONValue { presenceSession.jsonValue }

    /// Reads an entry written by `jsonValue`; nil when a member is missing or out of bounds
    /// (another instance's message is checked like a client's).
    init?(json: JSONValue) {
        guard let entry = try? PresenceSession(json: json),
            entry.name.map({ PresenceName.refusal(of: $0) == nil }) ?? true,
            entry.focus.map({ $0.utf8.count <= PresenceRoster.maximumFocusBytes }) ?? true,
            entry.user.map({ $0.utf8.count <= 256 }) ?? true
        else { return nil }
        let clientID = entry.client.flatMap(ClientID.init)
        guard entry.client == nil || clientID != nil else { return nil }
        self.init(
            session: SessionID(rawValue: entry.session), name: entry.name, client: clientID, user: entry.user,
            since: entry.since, role: entry.role, focus: entry.focus)
    }
}

extension [PresenceEntry] {
    /// Applies `change` to a document's entries; false when it changes nothing (already known).
    public mutating func apply(_ change: PresenceChange) -> Bool {
        switch change {
        case .joined(let entry):
            guard let index = firstIndex(where: { $0.session == entry.session }) else {
                append(entry)
                return true
            }
            guard self[index] != entry else { return false }
            self[index] = entry
            return true
        case .left(let session):
            guard let index = firstIndex(where: { $0.session == session }) else { return false }
            remove(at: index)
            return true
        case .focused(let session, let focus):
            guard let index = firstIndex(where: { $0.session == session }), self[index].focus != focus else {
                return false
            }
            self[index].focus = focus
            return true
        }
    }
}
