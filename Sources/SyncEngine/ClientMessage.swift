import JSONCodec
import JSONPatch
import JSONValueCoding
import SyncProtocol

/// A model action decoded from a client message.
struct DecodedAction<Action: Codable & Sendable> {
    let action: Action
    /// The action as stored in the log: `action` encoded again, so only what the model read.
    let json: JSONValue
}

/// Reads client messages as the engine does: the frame and the envelope (`SyncProtocol`) within
/// the document's limits; then, after the engine has checked the role, the model's own decoding
/// of its actions (`action`).
enum ClientMessageParser {
    static func envelope(_ message: IncomingMessage, limits: DocumentLimits) throws(ClientMessageError) -> ClientEnvelope {
        switch message {
        case .binary(let byteCount):
            throw ClientMessageError(
                id: nil, code: .binaryNotSupported,
                message: "binary frames are not supported (got \(byteCount) bytes); send JSON text")
        case .text(let text):
            return try ClientEnvelope(
                text: text,
                limits: ClientMessageLimits(
                    maximumDepth: limits.maximumMessageDepth, maximumStringBytes: limits.maximumStringBytes))
        }
    }

    /// The model's action; `type` must be a string naming one.
    static func action<Action: Codable & Sendable>(
        _ envelope: ClientEnvelope, as actionType: Action.Type
    ) throws(ClientMessageError) -> DecodedAction<Action> {
        let id = envelope.id
        switch envelope.message["type"] {
        case .string?: break
        case nil: throw ClientMessageError(id: id, code: .unknownType, message: "missing member \"type\"")
        case let other?:
            throw ClientMessageError(
                id: id, code: .unknownType, message: "type: expected a string, found \(other.typeName)")
        }
        let action: Action
        do {
            action = try JSONValueDecoder().decode(Action.self, from: envelope.message)
        } catch let rejected as ActionRejected {
            throw ClientMessageError(id: id, code: rejected.code, message: rejected.message)
        } catch {
            throw ClientMessageError(id: id, code: .invalidAction, message: "\(error)")
        }
        let json: JSONValue
        do {
            json = try JSONValueEncoder().encode(action)
        } catch {
            throw ClientMessageError(id: id, code: .internalError, message: "the action cannot be encoded: \(error)")
        }
        return DecodedAction(action: action, json: json)
    }

    /// The `id` of a message refused without parsing it (over the rate); nil when there is none.
    static func id(of message: IncomingMessage) -> JSONValue? {
        guard case .text(let bytes) = message else { return nil }
        return ClientEnvelope.id(ofText: bytes)
    }
}
