/// What a session may do. The raw value is the role's one name, in code and on the wire (the
/// `role` of `Full` and of presence entries). A read-token session is a viewer.
public enum SessionRole: String, Sendable, Hashable, CaseIterable {
    /// Receives state and may send actions.
    case editor
    /// Receives state; every action is refused with `forbidden`.
    case viewer
}
