import JSONCodec
import JSONPatch
import JSONValueCoding

/// One action message from a client, checked and decoded.
struct ClientMessage<Action: Codable & Sendable> {
    /// The client's `id`, echoed in the Ack or Error; nil when absent or null.
    let id: JSONValue?
    let action: Action
    /// The action as stored in the log: `action` encoded again, so only what the model read.
    let actionJSON: JSONValue
}

/// Why a client message was refused, with the id to echo when one could be read.
struct MessageRejection: Error {
    let id: JSONValue?
    let code: SyncErrorCode
    let message: String
}

/// Checks a client message in the order the protocol documents: frame type, JSON, object,
/// id, depth, role, `type`, then the model's own decoding.
enum ClientMessageParser {
    static func parse<Action: Codable & Sendable>(
        _ message: IncomingMessage, role: SessionRole, maximumDepth: Int, as actionType: Action.Type
    ) throws(MessageRejection) -> ClientMessage<Action> {
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
                    id: nil, code: .tooDeep, message: "message nests deeper than \(maximumDepth) levels")
            }
            throw MessageRejection(id: nil, code: .invalidJSON, message: "not valid JSON: \(error)")
        }
        guard case .object(let object) = json else {
            throw MessageRejection(
                id: nil, code: .notAnObject, message: "expected a JSON object, found \(json.typeName)")
        }

        let id: JSONValue?
        switch object["id"] {
        case nil, .null?: id = nil
        case .string?, .integer?, .real?: id = object["id"]
        case let other?:
            throw MessageRejection(
                id: nil, code: .invalidAction, message: "id: expected a string or a number, found \(other.typeName)")
        }
        guard !json.isNested(deeperThan: maximumDepth) else {
            throw MessageRejection(id: id, code: .tooDeep, message: "message nests deeper than \(maximumDepth) levels")
        }
        guard role == .editor else {
            throw MessageRejection(
                id: id, code: .forbidden, message: "this session is a watcher and may not send actions")
        }
        switch object["type"] {
        case .string?: break
        case nil: throw MessageRejection(id: id, code: .unknownType, message: "missing member \"type\"")
        case let other?:
            throw MessageRejection(
                id: id, code: .unknownType, message: "type: expected a string, found \(other.typeName)")
        }

        let action: Action
        do {
            action = try JSONValueDecoder().decode(Action.self, from: json)
        } catch let rejected as ActionRejected {
            throw MessageRejection(id: id, code: rejected.code, message: rejected.message)
        } catch {
            throw MessageRejection(id: id, code: .invalidAction, message: "\(error)")
        }
        let actionJSON: JSONValue
        do {
            actionJSON = try JSONValueEncoder().encode(action)
        } catch {
            throw MessageRejection(id: id, code: .internalError, message: "the action cannot be encoded: \(error)")
        }
        return ClientMessage(id: id, action: action, actionJSON: actionJSON)
    }
}
