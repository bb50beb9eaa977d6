import JSONCodec
import JSONPatch

/// One change of a document, as kept in its log: one JSON line
/// `{"version":N,"time":MS,"action":{...},"ops":[...]}`.
public struct DocumentEvent: Sendable, Hashable {
    /// The version the document has after this event; the first event is version 1.
    public let version: UInt64
    /// Milliseconds since the Unix epoch when the change was applied.
    public let time: Int64
    /// The action as the model understood it (decoded and encoded again). Reverts are
    /// `{"type":"Revert","version":V}`. Logs written before actions were re-encoded hold the
    /// client's object as sent; they load unchanged.
    public let action: JSONValue
    /// The patch that turns the state at `version - 1` into the state at `version`.
    public let ops: JSONPatch

    public init(version: UInt64, time: Int64, action: JSONValue, ops: JSONPatch) {
        self.version = version
        self.time = time
        self.action = action
        self.ops = ops
    }

    /// The event as a JSON object, in the log's member order.
    public var jsonValue: JSONValue {
        [
            "version": .integer(Int64(clamping: version)), "time": .integer(time), "action": action,
            "ops": ops.jsonValue,
        ]
    }

    /// The log line, newline included.
    func encodedLine() throws(JSONEncodingError) -> [UInt8] {
        var bytes = try JSONCodec.encode(jsonValue)
        bytes.append(0x0A)
        return bytes
    }

    /// Reads an event back from its JSON object; the message says which member is wrong.
    init(json: JSONValue) throws(EventFormatError) {
        guard case .object(let object) = json else {
            throw EventFormatError("expected an object, found \(json.typeName)")
        }
        guard let version = object["version"]?.integerValue, version > 0 else {
            throw EventFormatError("\"version\" must be a positive integer")
        }
        guard let time = object["time"]?.integerValue else {
            throw EventFormatError("\"time\" must be an integer")
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
        self.init(version: UInt64(version), time: time, action: action, ops: patch)
    }
}

struct EventFormatError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
