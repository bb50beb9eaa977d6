import OrderedCollections

/// A JSON object: string keys in insertion order, so output is deterministic.
///
/// Equality and hashing ignore member order, as RFC 6902 requires.
public struct JSONObject: Sendable {
    public private(set) var members: OrderedDictionary<String, JSONValue>

    public init() {
        members = [:]
    }

    /// Later duplicates of a key replace earlier ones.
    public init<S: Sequence>(_ pairs: S) where S.Element == (String, JSONValue) {
        members = OrderedDictionary(pairs, uniquingKeysWith: { _, last in last })
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: OrderedSet<String> { members.keys }

    /// Reading gives nil for a missing key; writing nil removes the key.
    public subscript(key: String) -> JSONValue? {
        get { members[key] }
        set { members[key] = newValue }
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        members.removeValue(forKey: key)
    }
}

extension JSONObject: Sequence {
    public func makeIterator() -> OrderedDictionary<String, JSONValue>.Iterator {
        members.makeIterator()
    }
}

extension JSONObject: Hashable {
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in lhs.members {
            guard let other = rhs.members[key], other == value else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: combine each member's own hash commutatively.
        var sum = 0
        for (key, value) in members {
            var member = Hasher()
            member.combine(key)
            member.combine(value)
            sum &+= member.finalize()
        }
        hasher.combine(count)
        hasher.combine(sum)
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }
}
