import JSONCodec
import JSONPatch

/// The presence messages, sent only to sessions that said `Hello`:
///
///     {"type":"Presence","sessions":[{"session":N,"name":..,"client":..,"since":MS,"role":"editor","focus":..},...]}
///     {"type":"PresenceJoin","session":{...}}
///     {"type":"PresenceLeave","session":N}
///     {"type":"PresenceFocus","session":N,"focus":"/todos/3"}
extension ServerMessage {
    static func presence(_ members: [PresenceRoster.Member]) -> OutboundMessage {
        encode(["type": "Presence", "sessions": .array(members.map(\.jsonValue))])
    }

    static func presenceJoin(_ member: PresenceRoster.Member) -> OutboundMessage {
        encode(["type": "PresenceJoin", "session": member.jsonValue])
    }

    static func presenceLeave(_ session: SessionID) -> OutboundMessage {
        encode(["type": "PresenceLeave", "session": .integer(Int64(clamping: session.rawValue))])
    }

    static func presenceFocus(_ session: SessionID, focus: String?) -> OutboundMessage {
        encode([
            "type": "PresenceFocus", "session": .integer(Int64(clamping: session.rawValue)),
            "focus": focus.map(JSONValue.string) ?? .null,
        ])
    }

    /// Strings and integers always encode: these messages hold nothing else.
    private static func encode(_ object: JSONObject) -> OutboundMessage {
        OutboundMessage((try? JSONCodec.encode(.object(object))) ?? [])
    }
}
