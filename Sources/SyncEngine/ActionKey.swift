import JSONPatch

/// What identifies an action for exactly-once: the client that named itself and the action's
/// `id` (compared as JSON: `7` and `"7"` differ).
public struct ActionKey: Hashable, Sendable {
    public let client: ClientID
    public let id: JSONValue

    public init(client: ClientID, id: JSONValue) {
        self.client = client
        self.id = id
    }

    /// The key of a logged event, if it names a client and an id.
    public init?(_ event: DocumentEvent) {
        guard let client = event.client, let id = event.actionID else { return nil }
        self.init(client: client, id: id)
    }
}
