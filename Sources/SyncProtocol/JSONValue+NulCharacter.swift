import JSONPatch

extension JSONValue {
    /// Whether a string or member name anywhere in the value holds U+0000. Refused in every
    /// store: PostgreSQL's jsonb cannot hold it, and a document must be able to move between stores.
    package var containsNulCharacter: Bool {
        switch self {
        case .null, .bool, .integer, .real: false
        case .string(let string): string.utf8.contains(0)
        case .array(let elements): elements.contains { $0.containsNulCharacter }
        case .object(let object):
            object.contains { member in member.key.utf8.contains(0) || member.value.containsNulCharacter }
        }
    }
}
