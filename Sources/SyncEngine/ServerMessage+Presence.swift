import JSONCodec
import JSONPatch

/// The presence messages, sent only to sessions that said `Hello`:
///
///     {"type":"Presence","sessions":[{"session":N,"name":..,"client":..,"since":MS,"role":"editor","focus":..},...]}
///     {"type":"PresenceJoin","session":{...}}
///     {"type":"PresenceLeave","session":N}
///     {"type":"PresenceFocus","session":N,"focus":"/todos/3"}
extension ServerMessage {
    static func presence(_ entries: [PresenceEntry]) -> OutboundMessage {
        encode(["type": "Presence", "sessions": .array(entries.map(\.jsonValue))])
    }

    static func presenceJoin(_ entry: PresenceEntry) -> OutboundMessage {
        encode(["type": "PresenceJoin", "session": entry.jsonValue])
    }

    /// The message that tells sessions of `change`.
    static func presence(_ change: PresenceChange) -> OutboundMessage {
        switch change {
        case .joined(let entry): presenceJoin(entry)
        case .left(let session): presenceLeave(session)
        case .focused(let session, let focus): presenceFocus(session, focus: focus)
        }
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
