import JSONCodec
import JSONPatch
import JSONValueCoding

/// A client message that is a JSON object of sane depth and string lengths, with its `id` read.
struct ClientEnvelope {
    /// The client's `id`, echoed in the Ack or Error; nil when absent or null.
    let id: JSONValue?
    /// The message as the client sent it.
    let message: JSONValue
    /// The message without its `id`: what a resent action is compared by (see `ActionDigest`).
    let body: JSONValue
    /// `type`, when it is a string.
    var type: String? { message["type"]?.stringValue }
}

/// A model action decoded from a client message.
struct DecodedAction<Action: Codable & Sendable> {
    let action: Action
    /// The action as stored in the log: `action` encoded again, so only what the model read.
    let json: JSONValue
}

/// Why a client message was refused, with the id to echo when one could be read.
struct MessageRejection: Error {
    let id: JSONValue?
    let code: SyncErrorCode
    let message: String
}

/// Checks a client message in the order the protocol documents: frame type, JSON, object,
/// id, depth, string lengths, U+0000 in strings (`envelope`); then, after the engine has checked
/// the role, `type` and the model's own decoding (`action`).
enum ClientMessageParser {
    /// The longest string `id`, in UTF-8 bytes. Ids are echoed in every reply and remembered for
    /// exactly-once; a UUID is 36 bytes. A number id is bounded by being a number.
    static let maximumIDBytes = 128

    static func envelope(_ message: IncomingMessage, limits: DocumentLimits) throws(MessageRejection) -> ClientEnvelope {
        let bytes: [UInt8]
        switch message {
        case .binary(let byteCount):
            throw MessageRejection(
                id: nil, code: .binaryNotSupported,
                message: "binary frames are not supported (got \(byteCount) bytes); send JSON text")
        case .text(let text):
            bytes = text
        }

        let json: JSONValue
        do {
            json = try JSONCodec.decode(bytes)
        } catch {
            if case .tooDeep = error.reason {
                throw MessageRejection(
                    id: nil, code: .tooDeep, message: "message nests deeper than \(limits.maximumMessageDepth) levels")
            }
            throw MessageRejection(id: nil, code: .invalidJSON, message: "not valid JSON: \(error)")
        }
        guard case .object(var object) = json else {
            throw MessageRejection(
                id: nil, code: .notAnObject, message: "expected a JSON object, found \(json.typeName)")
        }

        let id: JSONValue?
        switch object["id"] {
        case nil, .null?: id = nil
        case .string(let text)? where text.utf8.count > maximumIDBytes:
            // Not echoed: the reply and the memory of outcomes stay small whatever was sent.
            throw MessageRejection(
                id: nil, code: .invalidAction,
                message: "id: \(text.utf8.count) bytes of UTF-8; at most \(maximumIDBytes) (use a UUID)")
        case .string?, .integer?, .real?: id = object["id"]
        case let other?:
            throw MessageRejection(
                id: nil, code: .invalidAction, message: "id: expected a string or a number, found \(other.typeName)")
        }
        guard !json.isNested(deeperThan: limits.maximumMessageDepth) else {
            throw MessageRejection(
                id: id, code: .tooDeep, message: "message nests deeper than \(limits.maximumMessageDepth) levels")
        }
        if let length = overlongStringLength(in: json, over: limits.maximumStringBytes) {
            throw MessageRejection(
                id: id, code: .stringTooLong,
                message: "a string of \(length) bytes is longer than the limit of \(limits.maximumStringBytes)")
        }
        object["id"] = nil
        // A database cannot store U+0000 in text; refused here so that every store accepts the same.
        guard !JSONValue.object(object).containsNulCharacter else {
            throw MessageRejection(id: id, code: .invalidAction, message: "strings may not contain U+0000 (\\u0000)")
        }
        return ClientEnvelope(id: id, message: json, body: .object(object))
    }

    /// The model's action; `type` must be a string naming one.
    static func action<Action: Codable & Sendable>(
        _ envelope: ClientEnvelope, as actionType: Action.Type
    ) throws(MessageRejection) -> DecodedAction<Action> {
        let id = envelope.id
        switch envelope.message["type"] {
        case .string?: break
        case nil: throw MessageRejection(id: id, code: .unknownType, message: "missing member \"type\"")
        case let other?:
            throw MessageRejection(
                id: id, code: .unknownType, message: "type: expected a string, found \(other.typeName)")
        }
        let action: Action
        do {
            action = try JSONValueDecoder().decode(Action.self, from: envelope.message)
        } catch let rejected as ActionRejected {
            throw MessageRejection(id: id, code: rejected.code, message: rejected.message)
        } catch {
            throw MessageRejection(id: id, code: .invalidAction, message: "\(error)")
        }
        let json: JSONValue
        do {
            json = try JSONValueEncoder().encode(action)
        } catch {
            throw MessageRejection(id: id, code: .internalError, message: "the action cannot be encoded: \(error)")
        }
        return DecodedAction(action: action, json: json)
    }

    /// The length of the first string or key longer than `limit` bytes, if any. Only called on
    /// messages whose depth was checked, so the recursion is shallow.
    private static func overlongStringLength(in value: JSONValue, over limit: Int) -> Int? {
        switch value {
        case .string(let text):
            return text.utf8.count > limit ? text.utf8.count : nil
        case .array(let elements):
            return elements.lazy.compactMap { overlongStringLength(in: $0, over: limit) }.first
        case .object(let object):
            for (key, member) in object {
                if key.utf8.count > limit { return key.utf8.count }
                if let length = overlongStringLength(in: member, over: limit) { return length }
            }
            return nil
        case .null, .bool, .integer, .real:
            return nil
        }
    }

    /// The `id` of a message refused without parsing it (over the rate), so that the client can
    /// match the Error to its action; nil when there is none to read.
    static func id(of message: IncomingMessage) -> JSONValue? {
        guard case .text(let bytes) = message, case .object(let object)? = try? JSONCodec.decode(bytes) else {
            return nil
        }
        switch object["id"] {
        case .string(let text)? where text.utf8.count > maximumIDBytes: return nil
        case .string?, .integer?, .real?: return object["id"]
        default: return nil
        }
    }
}
