import JSONPatch

/// One session as the presence messages show it:
/// `{"session":N,"name":..,"client":..,"user":..,"since":MS,"role":"editor","focus":..}`.
/// `user` is the `sub` of the session's signed token, or null (absent from older servers).
public struct PresenceSession: Sendable, Equatable {
    public var session: UInt64
    public var name: String?
    public var client: String?
    public var user: String?
    /// Milliseconds since the Unix epoch when the session connected.
    public var since: Int64
    public var role: SessionRole
    /// What the session is looking at, e.g. `/todos/3`.
    public var focus: String?

    public init(
        session: UInt64, name: String?, client: String?, user: String? = nil, since: Int64, role: SessionRole,
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

    public var jsonValue: JSONValue {
        [
            "session": .integer(Int64(clamping: session)), "name": name.map(JSONValue.string) ?? .null,
            "client": client.map(JSONValue.string) ?? .null, "user": user.map(JSONValue.string) ?? .null,
            "since": .integer(since), "role": .string(role.rawValue), "focus": focus.map(JSONValue.string) ?? .null,
        ]
    }

    /// Reads an entry; `name`, `client` and `focus` must be present (null or a string), `user` may
    /// be absent. Bounds on the strings are the reader's to check.
    public init(json: JSONValue) throws(ServerMessageError) {
        try self.init(json: json, in: "PresenceJoin", at: "session")
    }

    init(json: JSONValue, in type: String, at path: String) throws(ServerMessageError) {
        guard case .object(let object) = json else {
            throw ServerMessageError(type: type, .wrongType(member: path, expected: "an object", found: json.typeName))
        }
        let reader = MemberReader(object: object, type: type, path: path)
        for member in ["name", "client", "focus"] where object[member] == nil {
            throw ServerMessageError(type: type, .missingMember(reader.name(member)))
        }
        guard case .integer(let since) = try reader.required("since") else {
            throw reader.wrongType("since", expected: "an integer")
        }
        guard let role = try reader.role("role") else { throw ServerMessageError(type: type, .missingMember(reader.name("role"))) }
        self.init(
            session: try reader.session("session"), name: try reader.optionalString("name"),
            client: try reader.optionalString("client"), user: try reader.optionalString("user"), since: since, role: role,
            focus: try reader.optionalString("focus"))
    }
}
