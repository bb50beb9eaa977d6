import JSONCodec
import JSONPatch

/// A message the server sends, typed: what a client decodes and what tests compare.
///
///     {"type":"Full","<stateKey>":{...},"version":N,"schema":S,"role":"editor"|"viewer"}
///     {"type":"Full","state":{...},"version":N,"schema":S,"model":"NAME","role":..}   (a declared type)
///     {"type":"Patch","ops":[...],"version":N,"from":F}   (F = N - 1 unless coalesced)
///     {"type":"Ack","id":..,"version":N}
///     {"type":"Error","id":..,"code":"..","message":".."}   (no "id" when the action had none)
///     {"type":"Error","id":..,"code":"conflict","message":"..","version":N}
///     {"type":"Presence","sessions":[{"session":N,"name":..,"client":..,"user":..,"since":MS,"role":..,"focus":..},...]}
///     {"type":"PresenceJoin","session":{...}}
///     {"type":"PresenceLeave","session":N}
///     {"type":"PresenceFocus","session":N,"focus":"/todos/3"}
///
/// Members a server from before versions leaves out (`version`, `from`, `role`, `schema`) decode
/// as nil; members this release does not know are ignored, as rule zero asks of every client.
/// The engine sends through the pre-encoded fast paths in `ServerMessage+Encoding.swift`.
public enum ServerMessage: Sendable, Equatable {
    case full(Full)
    case patch(Patch)
    case ack(Ack)
    case error(Error)
    case presence([PresenceSession])
    case presenceJoin(PresenceSession)
    case presenceLeave(session: UInt64)
    case presenceFocus(session: UInt64, focus: String?)

    /// The whole state of a document, on connect or when a resume cannot be served.
    public struct Full: Sendable, Equatable {
        /// The member holding the state: the model's (`todo` for the Todo list), `state` for a declared type.
        public var stateKey: String
        public var state: JSONValue
        public var version: UInt64?
        /// The model's schema version.
        public var schema: Int?
        /// A declared type's name; nil for a built-in model.
        public var model: String?
        public var role: SessionRole?

        public init(
            stateKey: String, state: JSONValue, version: UInt64?, schema: Int? = nil, model: String? = nil,
            role: SessionRole? = nil
        ) {
            self.stateKey = stateKey
            self.state = state
            self.version = version
            self.schema = schema
            self.model = model
            self.role = role
        }
    }

    /// Changes: `ops` take the document from version `from` to `version`.
    public struct Patch: Sendable, Equatable {
        public var ops: JSONPatch
        public var version: UInt64?
        /// The version the ops apply to; `version - 1` unless coalesced. Nil from an older server.
        public var from: UInt64?

        public init(ops: JSONPatch, version: UInt64?, from: UInt64?) {
            self.ops = ops
            self.version = version
            self.from = from
        }

        /// The version the ops apply to: `from`, or `version - 1` from a server that does not send it.
        public var base: UInt64? { from ?? version.map { $0 &- 1 } }
    }

    /// An action was accepted (or changed nothing); the document is at `version`.
    public struct Ack: Sendable, Equatable {
        /// The action's `id`, as the client sent it.
        public var id: JSONValue
        public var version: UInt64?

        public init(id: JSONValue, version: UInt64?) {
            self.id = id
            self.version = version
        }
    }

    /// An action was refused; the state did not change.
    public struct Error: Sendable, Equatable {
        /// The action's `id`; nil when it had none (or it could not be read).
        public var id: JSONValue?
        /// As sent: a newer server may send a code this release does not know (see `knownCode`).
        public var code: String
        public var message: String
        /// The document's current version, for `conflict`.
        public var version: UInt64?

        public init(id: JSONValue?, code: String, message: String, version: UInt64? = nil) {
            self.id = id
            self.code = code
            self.message = message
            self.version = version
        }

        public init(id: JSONValue?, code: SyncErrorCode, message: String, version: UInt64? = nil) {
            self.init(id: id, code: code.rawValue, message: message, version: version)
        }

        /// `code` as a `SyncErrorCode`, nil when this release does not know it.
        public var knownCode: SyncErrorCode? { SyncErrorCode(rawValue: code) }
    }

    /// The wire name of the message's `type`.
    public var type: String {
        switch self {
        case .full: "Full"
        case .patch: "Patch"
        case .ack: "Ack"
        case .error: "Error"
        case .presence: "Presence"
        case .presenceJoin: "PresenceJoin"
        case .presenceLeave: "PresenceLeave"
        case .presenceFocus: "PresenceFocus"
        }
    }
}

// MARK: Encoding

extension ServerMessage {
    /// The message as JSON, members in the order the server writes them.
    public var jsonValue: JSONValue {
        var object: JSONObject = ["type": .string(type)]
        switch self {
        case .full(let full):
            object[full.stateKey] = full.state
            if let version = full.version { object["version"] = .integer(Int64(clamping: version)) }
            if let schema = full.schema { object["schema"] = .integer(Int64(schema)) }
            if let model = full.model { object["model"] = .string(model) }
            if let role = full.role { object["role"] = .string(role.rawValue) }
        case .patch(let patch):
            object["ops"] = patch.ops.jsonValue
            if let version = patch.version { object["version"] = .integer(Int64(clamping: version)) }
            if let from = patch.from { object["from"] = .integer(Int64(clamping: from)) }
        case .ack(let ack):
            object["id"] = ack.id
            if let version = ack.version { object["version"] = .integer(Int64(clamping: version)) }
        case .error(let error):
            if let id = error.id, id != .null { object["id"] = id }
            object["code"] = .string(error.code)
            object["message"] = .string(error.message)
            if let version = error.version { object["version"] = .integer(Int64(clamping: version)) }
        case .presence(let sessions):
            object["sessions"] = .array(sessions.map(\.jsonValue))
        case .presenceJoin(let session):
            object["session"] = session.jsonValue
        case .presenceLeave(let session):
            object["session"] = .integer(Int64(clamping: session))
        case .presenceFocus(let session, let focus):
            object["session"] = .integer(Int64(clamping: session))
            object["focus"] = focus.map(JSONValue.string) ?? .null
        }
        return .object(object)
    }

    /// The message as JSON text. Fails only for a value JSON cannot hold (a non-finite number).
    public func encoded() throws(JSONEncodingError) -> [UInt8] {
        try JSONCodec.encode(jsonValue)
    }
}

// MARK: Decoding

extension ServerMessage {
    /// Reads a server message from JSON text. `stateKey` names the member of a `Full` that holds
    /// the state (`todo` for the Todo list, `state` for a declared type).
    public init(text: some Collection<UInt8>, stateKey: String = "todo") throws(ServerMessageError) {
        let json: JSONValue
        do {
            json = try JSONCodec.decode(Array(text))
        } catch {
            throw ServerMessageError(type: nil, .invalidJSON("\(error)"))
        }
        try self.init(json: json, stateKey: stateKey)
    }

    /// Reads a server message from its JSON; the error names the member that is wrong.
    public init(json: JSONValue, stateKey: String = "todo") throws(ServerMessageError) {
        guard case .object(let object) = json else {
            throw ServerMessageError(type: nil, .notAnObject(found: json.typeName))
        }
        let type: String
        switch object["type"] {
        case .string(let text)?: type = text
        case nil: throw ServerMessageError(type: nil, .missingMember("type"))
        case let other?: throw ServerMessageError(type: nil, .wrongType(member: "type", expected: "a string", found: other.typeName))
        }
        let reader = MemberReader(object: object, type: type)
        switch type {
        case "Full":
            self = .full(
                Full(
                    stateKey: stateKey, state: try reader.required(stateKey), version: try reader.version("version"),
                    schema: try reader.optionalInteger("schema").map { Int(clamping: $0) },
                    model: try reader.optionalString("model"), role: try reader.role("role")))
        case "Patch":
            let ops = try reader.required("ops")
            let patch: JSONPatch
            do {
                patch = try JSONPatch(json: ops)
            } catch {
                throw ServerMessageError(type: type, .invalidMember(member: "ops", reason: "\(error)"))
            }
            self = .patch(Patch(ops: patch, version: try reader.version("version"), from: try reader.version("from")))
        case "Ack":
            self = .ack(Ack(id: try reader.required("id"), version: try reader.version("version")))
        case "Error":
            let id = object["id"].flatMap { $0 == .null ? nil : $0 }
            self = .error(
                Error(
                    id: id, code: try reader.requiredString("code"), message: try reader.requiredString("message"),
                    version: try reader.version("version")))
        case "Presence":
            guard case .array(let entries) = try reader.required("sessions") else {
                throw reader.wrongType("sessions", expected: "an array")
            }
            var sessions: [PresenceSession] = []
            for (index, entry) in entries.enumerated() {
                sessions.append(try PresenceSession(json: entry, in: type, at: "sessions/\(index)"))
            }
            self = .presence(sessions)
        case "PresenceJoin":
            self = .presenceJoin(try PresenceSession(json: try reader.required("session"), in: type, at: "session"))
        case "PresenceLeave":
            self = .presenceLeave(session: try reader.session("session"))
        case "PresenceFocus":
            let session = try reader.session("session")
            guard object["focus"] != nil else { throw ServerMessageError(type: type, .missingMember("focus")) }
            self = .presenceFocus(session: session, focus: try reader.optionalString("focus"))
        default:
            throw ServerMessageError(type: type, .unknownType(type))
        }
    }
}

/// Reads the members of one message, naming the message and the member in every error.
struct MemberReader {
    let object: JSONObject
    let type: String
    /// Prefixes member names in errors (for a presence entry inside a message).
    var path = ""

    func name(_ member: String) -> String { path.isEmpty ? member : "\(path)/\(member)" }

    func wrongType(_ member: String, expected: String) -> ServerMessageError {
        ServerMessageError(
            type: type, .wrongType(member: name(member), expected: expected, found: object[member]?.typeName ?? "nothing"))
    }

    func required(_ member: String) throws(ServerMessageError) -> JSONValue {
        guard let value = object[member] else { throw ServerMessageError(type: type, .missingMember(name(member))) }
        return value
    }

    func requiredString(_ member: String) throws(ServerMessageError) -> String {
        guard case .string(let text) = try required(member) else { throw wrongType(member, expected: "a string") }
        return text
    }

    /// A string, or nil when absent or null.
    func optionalString(_ member: String) throws(ServerMessageError) -> String? {
        switch object[member] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw wrongType(member, expected: "a string or null")
        }
    }

    func optionalInteger(_ member: String) throws(ServerMessageError) -> Int64? {
        switch object[member] {
        case nil, .null?: return nil
        case .integer(let number)?: return number
        default: throw wrongType(member, expected: "an integer")
        }
    }

    /// A version: a non-negative integer, or nil when absent.
    func version(_ member: String) throws(ServerMessageError) -> UInt64? {
        guard let number = try optionalInteger(member) else { return nil }
        guard let version = UInt64(exactly: number) else {
            throw ServerMessageError(type: type, .invalidMember(member: name(member), reason: "\(number) is negative"))
        }
        return version
    }

    /// A session number: a positive integer.
    func session(_ member: String) throws(ServerMessageError) -> UInt64 {
        guard case .integer(let number) = try required(member) else { throw wrongType(member, expected: "an integer") }
        guard number > 0 else {
            throw ServerMessageError(type: type, .invalidMember(member: name(member), reason: "\(number) is not positive"))
        }
        return UInt64(number)
    }

    func role(_ member: String) throws(ServerMessageError) -> SessionRole? {
        guard let name = try optionalString(member) else { return nil }
        guard let role = SessionRole(rawValue: name) else {
            throw ServerMessageError(
                type: type, .invalidMember(member: self.name(member), reason: "\"\(name)\" is not \"editor\" or \"viewer\""))
        }
        return role
    }
}
