/// The stable, machine-readable `code` of an `Error` message. Clients may switch on these strings.
public enum SyncErrorCode: String, Sendable, Hashable, CaseIterable {
    /// The text is not JSON.
    case invalidJSON = "invalid_json"
    /// The JSON is not an object.
    case notAnObject = "not_an_object"
    /// `type` is missing, not a string, or not an action the document knows.
    case unknownType = "unknown_type"
    /// A field is missing or has the wrong type; the message names the field.
    case invalidAction = "invalid_action"
    /// An index is negative, not an integer, or out of range.
    case invalidIndex = "invalid_index"
    /// The message nests deeper than the configured limit.
    case tooDeep = "too_deep"
    /// A binary frame arrived; the protocol is text only.
    case binaryNotSupported = "binary_not_supported"
    /// The session is a viewer and may not send actions.
    case forbidden = "forbidden"
    /// The change could not be written to disk; nothing changed. Retrying later may succeed.
    case storageUnavailable = "storage_unavailable"
    /// The session sent too much too fast (used by the transport).
    case rateLimited = "rate_limited"
    /// A string (or key) in the message is longer than the configured limit.
    case stringTooLong = "string_too_long"
    /// The action would make the document larger than the configured limit; nothing changed.
    case documentTooLarge = "document_too_large"
    /// The action would put more members in one object or array (rows) than the limit allows.
    case tooManyMembers = "too_many_members"
    /// The server holds as many documents in memory as it may; try again later.
    case tooManyDocuments = "too_many_documents"
    /// The server could not encode the result of an otherwise valid action; nothing changed.
    case internalError = "internal_error"
    /// The client reused an action `id` for an action with another body; nothing changed.
    case duplicateID = "duplicate_id"
    /// A raw `Patch` cannot apply, or its result is not a state of the model; the message names
    /// the JSON Pointer and the reason.
    case invalidPatch = "invalid_patch"
    /// The document was stored as another model than its name now has (a declared type's
    /// pattern matches it, or no longer does): it is not opened.
    case modelMismatch = "model_mismatch"
    /// A `test` operation of a raw `Patch` found another value; nothing changed.
    case testFailed = "test_failed"
    /// A raw `Patch` touches what changed after its `base`; the Error carries the current `version`.
    case conflict = "conflict"
}
