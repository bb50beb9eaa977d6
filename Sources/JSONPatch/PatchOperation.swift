/// One RFC 6902 operation.
public enum PatchOperation: Hashable, Sendable {
    case add(path: JSONPointer, value: JSONValue)
    case remove(path: JSONPointer)
    case replace(path: JSONPointer, value: JSONValue)
    case move(from: JSONPointer, path: JSONPointer)
    case copy(from: JSONPointer, path: JSONPointer)
    case test(path: JSONPointer, value: JSONValue)

    /// The operation's name as it appears in the `op` member.
    public var name: String {
        switch self {
        case .add: "add"
        case .remove: "remove"
        case .replace: "replace"
        case .move: "move"
        case .copy: "copy"
        case .test: "test"
        }
    }

    public var path: JSONPointer {
        switch self {
        case .add(let path, _), .remove(let path), .replace(let path, _), .move(_, let path),
            .copy(_, let path), .test(let path, _):
            path
        }
    }

    /// The RFC 6902 object form, members in the order `op`, `from`, `path`, `value`.
    public var jsonValue: JSONValue {
        var object = JSONObject()
        object["op"] = .string(name)
        switch self {
        case .add(let path, let value), .replace(let path, let value), .test(let path, let value):
            object["path"] = .string(path.description)
            object["value"] = value
        case .remove(let path):
            object["path"] = .string(path.description)
        case .move(let from, let path), .copy(let from, let path):
            object["from"] = .string(from.description)
            object["path"] = .string(path.description)
        }
        return .object(object)
    }

    /// Parses the RFC 6902 object form. Members other than `op`, `path`, `from` and `value`
    /// are ignored, as the RFC requires.
    public init(json: JSONValue) throws(JSONPatchError) {
        guard case .object(let object) = json else {
            throw JSONPatchError(.malformedPatch, message: "operation must be an object, not \(json.typeName)")
        }
        guard let opMember = object["op"] else {
            throw JSONPatchError(.malformedPatch, message: "missing member \"op\"")
        }
        guard case .string(let op) = opMember else {
            throw JSONPatchError(.malformedPatch, message: "member \"op\" must be a string, not \(opMember.typeName)")
        }
        guard ["add", "remove", "replace", "move", "copy", "test"].contains(op) else {
            throw JSONPatchError(.malformedPatch, message: "unknown operation \"\(op)\"")
        }
        let path = try Self.pointer(named: "path", in: object)
        switch op {
        case "add": self = .add(path: path, value: try Self.value(in: object, op: op))
        case "remove": self = .remove(path: path)
        case "replace": self = .replace(path: path, value: try Self.value(in: object, op: op))
        case "move": self = .move(from: try Self.pointer(named: "from", in: object), path: path)
        case "copy": self = .copy(from: try Self.pointer(named: "from", in: object), path: path)
        default: self = .test(path: path, value: try Self.value(in: object, op: op))
        }
    }

    private static func pointer(named name: String, in object: JSONObject) throws(JSONPatchError) -> JSONPointer {
        guard let member = object[name] else {
            throw JSONPatchError(.malformedPatch, message: "missing member \"\(name)\"")
        }
        guard case .string(let text) = member else {
            throw JSONPatchError(
                .malformedPatch, message: "member \"\(name)\" must be a string, not \(member.typeName)")
        }
        do {
            return try JSONPointer(parsing: text)
        } catch {
            throw JSONPatchError(.invalidPointer, message: "member \"\(name)\": \(error)")
        }
    }

    private static func value(in object: JSONObject, op: String) throws(JSONPatchError) -> JSONValue {
        guard let value = object["value"] else {
            throw JSONPatchError(.malformedPatch, message: "\"\(op)\" is missing member \"value\"")
        }
        return value
    }
}
