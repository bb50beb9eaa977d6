import JSONPatch

extension JSONValue {
    /// Equal member order and number kinds included, unlike `==` (which follows RFC 6902's
    /// `test`): what "unchanged" means for a document.
    public func isExactly(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.real(let a), .real(let b)): a.bitPattern == b.bitPattern
        case (.string(let a), .string(let b)): a.utf8.elementsEqual(b.utf8)
        case (.array(let a), .array(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.isExactly($1) }
        case (.object(let a), .object(let b)):
            a.keys.elementsEqual(b.keys, by: { $0.utf8.elementsEqual($1.utf8) })
                && zip(a, b).allSatisfy { $0.value.isExactly($1.value) }
        default: false
        }
    }

    /// An equal value that shares no storage with this one, so that edits to it happen in place.
    public func unsharedCopy() -> JSONValue {
        switch self {
        case .array(let elements): .array(elements.map { $0.unsharedCopy() })
        case .object(let object): .object(JSONObject(object.map { ($0.key, $0.value.unsharedCopy()) }))
        default: self
        }
    }
}
