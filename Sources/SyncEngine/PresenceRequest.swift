import SyncProtocol

/// A client message about presence rather than the document: `Hello` or `Focus`.
enum PresenceRequest {
    /// `{"type":"Hello","name":"Ana"}`: opt into presence, with an optional name.
    case hello(name: String?)
    /// `{"type":"Focus","focus":"/todos/3"}` or `null`: what the session is looking at.
    case focus(String?)

    /// Nil when the message is something else (an action); throws `invalid_action` when it is a
    /// presence message with a wrong member (read by `SyncProtocol.ClientMessage`).
    init?(_ envelope: ClientEnvelope) throws(ActionRejected) {
        guard envelope.type == "Hello" || envelope.type == "Focus" else { return nil }
        do throws(ClientMessageError) {
            switch try ClientMessage(envelope) {
            case .hello(let name): self = .hello(name: name)
            case .focus(let focus): self = .focus(focus)
            case .patch, .action: return nil
            }
        } catch {
            throw ActionRejected(error.code, error.message)
        }
    }
}
