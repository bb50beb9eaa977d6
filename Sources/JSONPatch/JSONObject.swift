import OrderedCollections

/// A JSON object: string keys in insertion order, so output is deterministic.
///
/// Equality and hashing ignore member order, as RFC 6902 requires. Members live in a shared
/// copy-on-write storage that also records which keys were written since it was copied, so a
/// diff between an object and its edited copy visits only the edited members.
public struct JSONObject: Sendable {
    var storage: JSONObjectStorage

    public var members: OrderedDictionary<String, JSONValue> { storage.members }

    public init() {
        storage = JSONObjectStorage(members: [:])
    }

    /// Later duplicates of a key replace earlier ones.
    public init<S: Sequence>(_ pairs: S) where S.Element == (String, JSONValue) {
        storage = JSONObjectStorage(
            members: OrderedDictionary(pairs, uniquingKeysWith: { _, last in last }))
    }

    public init(_ members: OrderedDictionary<String, JSONValue>) {
        storage = JSONObjectStorage(members: members)
    }

    public var count: Int { storage.members.count }
    public var isEmpty: Bool { storage.members.isEmpty }
    public var keys: OrderedSet<String> { storage.members.keys }

    /// Reading gives nil for a missing key; writing nil removes the key.
    public subscript(key: String) -> JSONValue? {
        get { storage.members[key] }
        set {
            makeUniqueForWriting(key: key)
            storage.members[key] = newValue
        }
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard storage.members.index(forKey: key) != nil else { return nil }
        makeUniqueForWriting(key: key)
        return storage.members.removeValue(forKey: key)
    }

    /// Edits the member at `key` in place, without copying it when this object holds the only
    /// reference. The closure sees nil for a missing key; leaving nil removes the key.
    public mutating func modifyValue<R, E: Error>(
        forKey key: String, _ body: (inout JSONValue?) throws(E) -> R
    ) throws(E) -> R {
        makeUniqueForWriting(key: key)
        // Take the member out so that the value it holds is uniquely referenced while edited.
        var value = storage.members[key]
        if value != nil { storage.members[key] = .null }
        defer { storage.members[key] = value }
        return try body(&value)
    }

    /// Whether `self` and `other` share their storage, and so are equal without a walk.
    public func isIdentical(to other: JSONObject) -> Bool {
        storage === other.storage
    }

    /// The keys that may differ from `ancestor`, when `self` is a copy of it edited since;
    /// nil when that is not known and every member must be compared.
    func keysChanged(since ancestor: JSONObject) -> OrderedSet<String>? {
        storage.keysChanged(since: ancestor.storage)
    }

    private mutating func makeUniqueForWriting(key: String) {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copyForMutation()
        }
        storage.willWrite(key: key)
    }
}

extension JSONObject: Sequence {
    public func makeIterator() -> OrderedDictionary<String, JSONValue>.Iterator {
        storage.members.makeIterator()
    }
}

extension JSONObject: Hashable {
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        if lhs.storage === rhs.storage { return true }
        guard lhs.count == rhs.count else { return false }
        for (key, value) in lhs.storage.members {
            guard let other = rhs.storage.members[key], other == value else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: combine each member's own hash commutatively.
        var sum = 0
        for (key, value) in storage.members {
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
