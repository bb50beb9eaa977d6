import JSONCodec
import JSONPatch

/// A message a client sends, typed; its `id` travels beside it (see `ClientEnvelope`).
///
///     {"type":"Hello","name":"Ana"}                    opt into presence (name optional)
///     {"type":"Focus","focus":"/todos/3"}               or null: what the session looks at
///     {"type":"Patch","ops":[...],"base":V}             a raw RFC 6902 write (base optional)
///     {"type":"Add","row":{...}}, ...                   a model's action, read by the model
///
/// Each may carry an `id` (a string or a number), echoed in its Ack or Error.
public enum ClientMessage: Sendable, Equatable {
    case hello(name: String?)
    case focus(String?)
    case patch(ops: JSONPatch, base: UInt64?)
    /// A model's action: the whole object without `id`, its `type` a string. The protocol does
    /// not know a model's actions; the engine decodes them with the model's `Action`.
    case action(JSONObject)

    /// The most operations one raw `Patch` may carry.
    public static let maximumPatchOperations = 1000
    /// The longest `focus`, in UTF-8 bytes.
    public static let maximumFocusBytes = 256

    /// The message's `type`.
    public var type: String {
        switch self {
        case .hello: "Hello"
        case .focus: "Focus"
        case .patch: "Patch"
        case .action(let object): object["type"]?.stringValue ?? ""
        }
    }
}

// MARK: Decoding

extension ClientMessage {
    /// Reads the message by its `type`. `Hello`, `Focus` and `Patch` are read here; any other
    /// string `type` is a model's action. The error echoes the envelope's id and names the member.
    public init(_ envelope: ClientEnvelope) throws(ClientMessageError) {
        let fail = { (code: SyncErrorCode, message: String) in ClientMessageError(id: envelope.id, code: code, message: message) }
        let message = envelope.message
        switch message["type"] {
        case .string("Hello")?:
            switch message["name"] {
            case nil, .null?:
                self = .hello(name: nil)
            case .string(let name)?:
                if let refusal = PresenceName.refusal(of: name) { throw fail(.invalidAction, refusal) }
                self = .hello(name: name)
            case let other?:
                throw fail(.invalidAction, "name: expected a string, found \(other.typeName)")
            }
        case .string("Focus")?:
            switch message["focus"] {
            case .null?:
                self = .focus(nil)
            case .string(let focus)?:
                guard focus.utf8.count <= Self.maximumFocusBytes else {
                    throw fail(.invalidAction, "focus: at most \(Self.maximumFocusBytes) bytes of UTF-8")
                }
                self = .focus(focus)
            case nil:
                throw fail(.invalidAction, "missing member \"focus\" (a string, or null)")
            case let other?:
                throw fail(.invalidAction, "focus: expected a string or null, found \(other.typeName)")
            }
        case .string("Patch")?:
            guard case .array(let ops)? = message["ops"] else {
                throw fail(.invalidPatch, "ops: expected an array of JSON Patch operations")
            }
            guard ops.count <= Self.maximumPatchOperations else {
                throw fail(.invalidPatch, "ops: \(ops.count) operations; at most \(Self.maximumPatchOperations) per message")
            }
            let patch: JSONPatch
            do {
                patch = try JSONPatch(json: .array(ops))
            } catch {
                throw fail(.invalidPatch, "ops: \(error)")
            }
            let base: UInt64?
            switch message["base"] {
            case nil, .null?:
                base = nil
            case let value?:
                guard let integer = value.integerValue, integer >= 0 else {
                    throw fail(.invalidPatch, "base: expected a non-negative integer version")
                }
                base = UInt64(integer)
            }
            self = .patch(ops: patch, base: base)
        case .string?:
            guard case .object(let body) = envelope.body else { throw fail(.notAnObject, "expected a JSON object") }
            self = .action(body)
        case nil:
            throw fail(.unknownType, "missing member \"type\"")
        case let other?:
            throw fail(.unknownType, "type: expected a string, found \(other.typeName)")
        }
    }

    /// Reads a client's text: the envelope's checks, then the message's own.
    public init(text: [UInt8], limits: ClientMessageLimits) throws(ClientMessageError) {
        try self.init(ClientEnvelope(text: text, limits: limits))
    }
}

// MARK: Encoding

extension ClientMessage {
    /// The message as JSON, with `id` last when there is one.
    public func jsonValue(id: JSONValue? = nil) -> JSONValue {
        var object: JSONObject
        switch self {
        case .hello(let name):
            object = ["type": "Hello"]
            if let name { object["name"] = .string(name) }
        case .focus(let focus):
            object = ["type": "Focus", "focus": focus.map(JSONValue.string) ?? .null]
        case .patch(let ops, let base):
            object = ["type": "Patch", "ops": ops.jsonValue]
            if let base { object["base"] = .integer(Int64(clamping: base)) }
        case .action(let action):
            object = action
            object["id"] = nil
        }
        if let id, id != .null { object["id"] = id }
        return .object(object)
    }

    /// The message as JSON text. Fails only for a value JSON cannot hold (a non-finite number).
    public func encoded(id: JSONValue? = nil) throws(JSONEncodingError) -> [UInt8] {
        try JSONCodec.encode(jsonValue(id: id))
    }
}
