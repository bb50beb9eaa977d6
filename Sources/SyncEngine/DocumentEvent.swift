import JSONCodec
import JSONPatch

/// One change of a document, as kept in its log: one JSON line
/// `{"format":2,"schema":S,"version":N,"time":MS,"client":..,"id":..,"digest":..,"name":..,"author":..,"action":{...},"ops":[...]}`
/// (`client`, `id`, `digest`, `name` and `author` only when known; lines of earlier releases have no
/// `format` and `schema`, nor `author`). The history API always shows `author`, null when unknown.
public struct DocumentEvent: Sendable, Hashable {
    /// The version the document has after this event; the first event is version 1.
    public let version: UInt64
    /// Milliseconds since the Unix epoch when the change was applied.
    public let time: Int64
    /// The model's schema version of the state after this event.
    public let schema: Int
    /// The declared type the document is of; nil for the engine's own model (and in earlier logs).
    public let model: String?
    /// The client that sent the action (`?client=ID`), if it named itself.
    public let client: ClientID?
    /// The action's `id`, when the client gave one: with `client`, it makes the action exactly-once.
    public let actionID: JSONValue?
    /// The digest of the action as the client sent it, kept with `client` and `actionID` to
    /// recognise a resend after a restart.
    let digest: ActionDigest?
    /// The name the session gave in its `Hello`, if any.
    public let name: String?
    /// Who made the change: the `sub` of the signed token the session or API request presented.
    /// Nil for static tokens, servers without credentials, inbox rows without one and migrations.
    public let author: String?
    /// The action as the model understood it (decoded and encoded again). Reverts are
    /// `{"type":"Revert","version":V}`, migrations `{"type":"Migrate","from":S,"to":S+1}`. Logs
    /// written before actions were re-encoded hold the client's object as sent; they load unchanged.
    public let action: JSONValue
    /// The patch that turns the state at `version - 1` into the state at `version`.
    public let ops: JSONPatch

    public init(
        version: UInt64, time: Int64, schema: Int = 1, model: String? = nil, client: ClientID? = nil,
        actionID: JSONValue? = nil, name: String? = nil, author: String? = nil, action: JSONValue, ops: JSONPatch
    ) {
        self.init(
            version: version, time: time, schema: schema, model: model, client: client, actionID: actionID, digest: nil,
            name: name, author: author, action: action, ops: ops)
    }

    init(
        version: UInt64, time: Int64, schema: Int, model: String? = nil, client: ClientID?, actionID: JSONValue?,
        digest: ActionDigest?, name: String?, author: String? = nil, action: JSONValue, ops: JSONPatch
    ) {
        self.author = author
        self.version = version
        self.time = time
        self.schema = schema
        self.model = model
        self.client = client
        self.actionID = actionID
        self.digest = digest
        self.name = name
        self.action = action
        self.ops = ops
    }

    /// The event as a JSON object (as the history API shows it), in the log's member order.
    public var jsonValue: JSONValue { .object(members(format: nil)) }

    /// The log line, newline included.
    func encodedLine() throws(JSONEncodingError) -> [UInt8] {
        var bytes = try JSONCodec.encode(.object(members(format: StoredFormat.current)))
        bytes.append(0x0A)
        return bytes
    }

    private func members(format: Int?) -> JSONObject {
        var object = JSONObject()
        if let format { object["format"] = .integer(Int64(format)) }
        object["schema"] = .integer(Int64(schema))
        if let model { object["model"] = .string(model) }
        object["version"] = .integer(Int64(clamping: version))
        object["time"] = .integer(time)
        if let client { object["client"] = .string(client.rawValue) }
        if let actionID { object["id"] = actionID }
        if let digest { object["digest"] = .string(digest.description) }
        if let name { object["name"] = .string(name) }
        if let author {
            object["author"] = .string(author)
        } else if format == nil {
            // The API shows every event's author, so that "nobody recorded" is explicit.
            object["author"] = .null
        }
        object["action"] = action
        object["ops"] = ops.jsonValue
        return object
    }

    /// Reads an event back from its JSON object (as `jsonValue` gives it); the message says which
    /// member is wrong. The format version has been checked by the caller.
    public init(json: JSONValue) throws(EventFormatError) {
        guard case .object(let object) = json else {
            throw EventFormatError("expected an object, found \(json.typeName)")
        }
        guard let version = object["version"]?.integerValue, version > 0 else {
            throw EventFormatError("\"version\" must be a positive integer")
        }
        guard let time = object["time"]?.integerValue else {
            throw EventFormatError("\"time\" must be an integer")
        }
        let schema = try StoredFormat.schema(in: object)
        var model: String?
        if let member = object["model"] {
            guard let string = member.stringValue else { throw EventFormatError("\"model\" must be a string") }
            model = string
        }
        var client: ClientID?
        if let member = object["client"] {
            guard let string = member.stringValue, let id = ClientID(string) else {
                throw EventFormatError("\"client\" must be a client ID")
            }
            client = id
        }
        let actionID = object["id"]
        if let actionID {
            switch actionID {
            case .string, .integer, .real: break
            default: throw EventFormatError("\"id\" must be a string or a number")
            }
        }
        var digest: ActionDigest?
        if let member = object["digest"] {
            guard let text = member.stringValue, let value = ActionDigest(hex: text) else {
                throw EventFormatError("\"digest\" must be 16 hexadecimal digits")
            }
            digest = value
        }
        var name: String?
        if let member = object["name"] {
            guard let string = member.stringValue else { throw EventFormatError("\"name\" must be a string") }
            name = string
        }
        var author: String?
        switch object["author"] {
        case nil, .null?: break
        case .string(let string)?: author = string
        default: throw EventFormatError("\"author\" must be a string or null")
        }
        guard let action = object["action"], case .object = action else {
            throw EventFormatError("\"action\" must be an object")
        }
        guard let ops = object["ops"] else { throw EventFormatError("missing \"ops\"") }
        let patch: JSONPatch
        do {
            patch = try JSONPatch(json: ops)
        } catch {
            throw EventFormatError("\"ops\" is not a JSON Patch: \(error)")
        }
        self.init(
            version: UInt64(version), time: time, schema: schema, model: model, client: client, actionID: actionID,
            digest: digest, name: name, author: author, action: action, ops: patch)
    }
}

public struct EventFormatError: Error {
    public let message: String
    init(_ message: String) { self.message = message }
}
