import JSONPatch

/// Who sent an action, as recorded with its event.
struct ActionSource {
    /// The client's ID (`?client=`), if it gave one.
    let client: ClientID?
    /// The action's `id`, if it had one.
    let id: JSONValue?
    /// The digest of the action as sent, when it has a client and an id.
    let digest: ActionDigest?
    /// The name the session gave in its `Hello`, if any.
    let name: String?
    /// The `sub` of the session's signed token, if it had one.
    let author: String?
}
