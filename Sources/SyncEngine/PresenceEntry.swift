import JSONPatch

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

    var jsonValue: JSONValue {
        [
            "session": .integer(Int64(clamping: session.rawValue)), "name": name.map(JSONValue.string) ?? .null,
            "client": client.map { .string($0.rawValue) } ?? .null, "user": user.map(JSONValue.string) ?? .null,
            "since": .integer(since),
            "role": .string(role.protocolName), "focus": focus.map(JSONValue.string) ?? .null,
        ]
    }

    /// Reads an entry written by `jsonValue`; nil when a member is missing or out of bounds
    /// (another instance's message is checked like a client's).
    init?(json: JSONValue) {
        guard case .integer(let session)? = json["session"], session > 0, case .integer(let since)? = json["since"],
            case .string(let roleName)? = json["role"], let role = SessionRole(protocolName: roleName),
            let name = Self.optionalString(json["name"]), name.map({ PresenceName.refusal(of: $0) == nil }) ?? true,
            let focus = Self.optionalString(json["focus"]),
            focus.map({ $0.utf8.count <= PresenceRoster.maximumFocusBytes }) ?? true,
            let client = Self.optionalString(json["client"]),
            // Absent in messages of instances from before signed tokens.
            let user = json["user"] == nil ? .some(nil) : Self.optionalString(json["user"]),
            user.map({ $0.utf8.count <= 256 }) ?? true
        else { return nil }
        let clientID = client.flatMap(ClientID.init)
        guard client == nil || clientID != nil else { return nil }
        self.init(
            session: SessionID(rawValue: UInt64(session)), name: name, client: clientID, user: user, since: since,
            role: role,
            focus: focus)
    }

    /// `.some(nil)` for null, `.some(text)` for a string, nil for anything else.
    private static func optionalString(_ value: JSONValue?) -> String?? {
        switch value {
        case .null?: .some(nil)
        case .string(let text)?: .some(text)
        default: nil
        }
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

extension SessionRole {
    /// The role named `"editor"` or `"viewer"`.
    init?(protocolName: String) {
        switch protocolName {
        case "editor": self = .editor
        case "viewer": self = .viewer
        default: return nil
        }
    }
}
