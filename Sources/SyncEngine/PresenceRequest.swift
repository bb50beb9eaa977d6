/// A client message about presence rather than the document: `Hello` or `Focus`.
enum PresenceRequest {
    /// `{"type":"Hello","name":"Ana"}`: opt into presence, with an optional name.
    case hello(name: String?)
    /// `{"type":"Focus","focus":"/todos/3"}` or `null`: what the session is looking at.
    case focus(String?)

    /// Nil when the message is something else (an action); throws `invalid_action` when it is a
    /// presence message with a wrong member.
    init?(_ envelope: ClientEnvelope) throws(ActionRejected) {
        switch envelope.type {
        case "Hello":
            switch envelope.message["name"] {
            case nil, .null?:
                self = .hello(name: nil)
            case .string(let name)?:
                if let refusal = PresenceName.refusal(of: name) {
                    throw ActionRejected(.invalidAction, refusal)
                }
                self = .hello(name: name)
            case let other?:
                throw ActionRejected(.invalidAction, "name: expected a string, found \(other.typeName)")
            }
        case "Focus":
            switch envelope.message["focus"] {
            case .null?:
                self = .focus(nil)
            case .string(let focus)?:
                guard focus.utf8.count <= PresenceRoster.maximumFocusBytes else {
                    throw ActionRejected(
                        .invalidAction, "focus: at most \(PresenceRoster.maximumFocusBytes) bytes of UTF-8")
                }
                self = .focus(focus)
            case nil:
                throw ActionRejected(.invalidAction, "missing member \"focus\" (a string, or null)")
            case let other?:
                throw ActionRejected(.invalidAction, "focus: expected a string or null, found \(other.typeName)")
            }
        default:
            return nil
        }
    }
}
