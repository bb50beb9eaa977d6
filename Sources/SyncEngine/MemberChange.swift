import JSONPatch

/// The one change an action made to a document's JSON: a member of an object set to a value,
/// or removed. A model that can say this (`DocumentModel.memberChange(of:in:after:)`) lets the
/// engine edit its JSON in place, so that an action on a large document copies none of it.
public struct MemberChange: Sendable, Hashable {
    /// The keys from the root to the object, each naming an object member (never an array element).
    public var object: [String]
    public var key: String
    /// Nil: the member is removed.
    public var value: JSONValue?

    public init(object: [String], key: String, value: JSONValue?) {
        self.object = object
        self.key = key
        self.value = value
    }

    /// The member's JSON Pointer.
    public var pointer: JSONPointer { JSONPointer(tokens: object + [key]) }
}

extension JSONValue {
    /// The object at `tokens` below this value; nil when the path crosses an array, a scalar or
    /// a missing member.
    func object(at tokens: ArraySlice<String>) -> JSONObject? {
        guard case .object(let object) = self else { return nil }
        guard let first = tokens.first else { return object }
        return object[first]?.object(at: tokens.dropFirst())
    }

    /// Sets member `key` of the object at `tokens` to `value` (nil removes it), in place: each
    /// container on the way is taken out of its parent while edited, so that one held only here
    /// is not copied. A key that is new goes last, or at `position` when given (to put back a
    /// removed member where it was; that rebuilds the object). False, changing nothing, when
    /// `tokens` does not lead to an object.
    mutating func setMember(
        at tokens: ArraySlice<String>, _ key: String, to value: JSONValue?, insertingAt position: Int? = nil
    ) -> Bool {
        guard case .object(var object) = self else { return false }
        if let first = tokens.first, object[first] == nil { return false }
        // `object` now holds the only reference to the members (unless shared elsewhere).
        self = .null
        defer { self = .object(object) }
        guard let first = tokens.first else {
            if let value, let position, object[key] == nil, position < object.count {
                var members = object.map { ($0.key, $0.value) }
                members.insert((key, value), at: position)
                object = JSONObject(members)
            } else {
                object[key] = value
            }
            return true
        }
        return object.modifyValue(forKey: first) { member in
            member!.setMember(at: tokens.dropFirst(), key, to: value, insertingAt: position)
        }
    }
}
