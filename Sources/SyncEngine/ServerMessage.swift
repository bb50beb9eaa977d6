import JSONCodec
import JSONPatch

/// Encodes the messages the server sends. Each returns bytes ready to share between sessions.
///
///     {"type":"Full","<stateKey>":{...},"version":N,"schema":S,"role":"editor"|"viewer"}
///     {"type":"Patch","ops":[...],"version":N}
///     {"type":"Ack","id":..,"version":N}
///     {"type":"Error","id":..,"code":"..","message":".."}   (no "id" when the action had none)
///     {"type":"Error","id":..,"code":"conflict","message":"..","version":N}
public enum ServerMessage {
    /// A Full in two parts, so that the state is encoded once for every role: `head` is the
    /// message up to its last member (the role), `tail(for:)` ends it.
    enum Full {
        /// `{"type":"Full","<stateKey>":{...},"version":N,"schema":S` (no closing brace).
        static func head(stateKey: String, state: JSONValue, version: UInt64, schema: Int)
            throws(JSONEncodingError) -> [UInt8]
        {
            let object: JSONObject = [
                "type": "Full", stateKey: state, "version": .integer(Int64(clamping: version)),
                "schema": .integer(Int64(schema)),
            ]
            var bytes = try JSONCodec.encode(.object(object))
            bytes.removeLast()
            return bytes
        }

        /// `,"role":"editor"}` or `,"role":"viewer"}`.
        static func tail(for role: SessionRole) -> [UInt8] {
            Array(#","role":"\#(role.protocolName)"}"#.utf8)
        }
    }

    public static func patch(_ patch: JSONPatch, version: UInt64) throws(JSONEncodingError) -> OutboundMessage {
        let object: JSONObject = [
            "type": "Patch", "ops": patch.jsonValue, "version": .integer(Int64(clamping: version)),
        ]
        return OutboundMessage(try JSONCodec.encode(.object(object)))
    }

    /// `id` is echoed as the client sent it (a string or a number).
    public static func ack(id: JSONValue, version: UInt64) -> OutboundMessage {
        encodeDroppingUnencodableID(["type": "Ack", "id": id, "version": .integer(Int64(clamping: version))])
    }

    /// The transport uses this too (e.g. for `rateLimited`), so every error has one format.
    /// `version` is the document's current version, for errors that carry it (`conflict`).
    public static func error(id: JSONValue?, code: SyncErrorCode, message: String, version: UInt64? = nil)
        -> OutboundMessage
    {
        var object: JSONObject = ["type": "Error"]
        if let id, id != .null { object["id"] = id }
        object["code"] = .string(code.rawValue)
        object["message"] = .string(message)
        if let version { object["version"] = .integer(Int64(clamping: version)) }
        return encodeDroppingUnencodableID(object)
    }

    /// Strings, integers and the version always encode; only an id JSON cannot hold (a non-finite
    /// number handed in through the API) can fail, and then the reply goes out without it.
    private static func encodeDroppingUnencodableID(_ object: JSONObject) -> OutboundMessage {
        if let bytes = try? JSONCodec.encode(.object(object)) { return OutboundMessage(bytes) }
        var withoutID = object
        withoutID["id"] = nil
        return OutboundMessage((try? JSONCodec.encode(.object(withoutID))) ?? [])
    }
}
