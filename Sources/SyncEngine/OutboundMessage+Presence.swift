import SyncProtocol

/// The presence messages (`SyncProtocol.ServerMessage`), encoded for the sessions that said
/// `Hello`. Presence is not on the hot path: these build the message as JSON, then encode it.
extension OutboundMessage {
    static func presence(_ entries: [PresenceEntry]) -> OutboundMessage {
        encode(.presence(entries.map(\.presenceSession)))
    }

    /// The message that tells sessions of `change`.
    static func presence(_ change: PresenceChange) -> OutboundMessage {
        switch change {
        case .joined(let entry): encode(.presenceJoin(entry.presenceSession))
        case .left(let session): encode(.presenceLeave(session: session.rawValue))
        case .focused(let session, let focus): encode(.presenceFocus(session: session.rawValue, focus: focus))
        }
    }

    /// Strings and integers always encode: these messages hold nothing else.
    private static func encode(_ message: ServerMessage) -> OutboundMessage {
        OutboundMessage((try? message.encoded()) ?? [])
    }
}
