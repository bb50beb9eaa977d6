import JSONPatch

/// Encodes `Encodable` values into `JSONValue` without Foundation.
///
/// Object members keep the order in which they were encoded. Integers become
/// `.integer` (a `UInt64` above `Int64.max` is an error), floating-point numbers
/// become `.real` (NaN and infinities are errors, JSON has no such numbers).
public struct JSONValueEncoder: Sendable {
    public init() {}

    /// Throws `JSONValueCodingError`, or whatever the value's own `encode(to:)` throws.
    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let node = EncodingNode()
        try node.encode(value, codingPath: [])
        guard let result = node.finish() else {
            throw JSONValueCodingError(
                reason: .invalidValue, path: "", message: "\(T.self) encoded no value")
        }
        return result
    }
}

/// One value being built. A class, because containers handed out to `encode(to:)`
/// must keep writing into the same place after they are returned.
final class EncodingNode {
    private enum Kind { case empty, scalar, object, array }

    /// A member or element: scalars are stored inline, containers as nodes still being filled.
    private enum Slot {
        case value(JSONValue)
        case node(EncodingNode)

        func finish() -> JSONValue {
            switch self {
            case .value(let value): value
            // A nested container that encoded nothing is `{}`, as an empty keyed container is.
            case .node(let node): node.finish() ?? .object(JSONObject())
            }
        }
    }

    /// Objects up to this size find existing keys by scanning; bigger ones keep a hash index.
    private static let scanLimit = 8

    private var kind = Kind.empty
    private var scalar = JSONValue.null
    private struct Member {
        let key: String
        var slot: Slot
    }

    private var members: [Member] = []
    private var memberIndex: [String: Int] = [:]
    private var elements: [Slot] = []

    func encode<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        try value.encode(to: NodeEncoder(node: self, codingPath: codingPath))
    }

    func setScalar(_ value: JSONValue) {
        kind = .scalar
        scalar = value
    }

    /// Turns the node into an object (keeping members already there) and returns it.
    func makeObject() -> EncodingNode {
        if kind != .object {
            kind = .object
            members = []
            memberIndex = [:]
        }
        return self
    }

    func makeArray() -> EncodingNode {
        if kind != .array {
            kind = .array
            elements = []
        }
        return self
    }

    /// Sets a member to a scalar; members keep encode order, encoding a key again replaces its value.
    func setMember(_ key: String, _ value: JSONValue) {
        setSlot(key, .value(value))
    }

    /// The node for a member that holds a container or a value encoded through `Encodable`.
    func member(_ key: String) -> EncodingNode {
        if let position = position(of: key), case .node(let existing) = members[position].slot {
            return existing
        }
        let node = EncodingNode()
        setSlot(key, .node(node))
        return node
    }

    func appendScalar(_ value: JSONValue) {
        elements.append(.value(value))
    }

    func appendElement() -> EncodingNode {
        let node = EncodingNode()
        elements.append(.node(node))
        return node
    }

    var elementCount: Int { elements.count }

    /// The built value; nil when nothing was encoded.
    func finish() -> JSONValue? {
        switch kind {
        case .empty: return nil
        case .scalar: return scalar
        case .object:
            var object = JSONObject()
            for member in members { object[member.key] = member.slot.finish() }
            return .object(object)
        case .array: return .array(elements.map { $0.finish() })
        }
    }

    private func position(of key: String) -> Int? {
        if members.count <= Self.scanLimit {
            return members.firstIndex { $0.key == key }
        }
        return memberIndex[key]
    }

    private func setSlot(_ key: String, _ slot: Slot) {
        if let position = position(of: key) {
            members[position].slot = slot
            return
        }
        members.append(Member(key: key, slot: slot))
        if members.count > Self.scanLimit {
            if memberIndex.isEmpty {
                for (position, member) in members.enumerated() { memberIndex[member.key] = position }
            } else {
                memberIndex[key] = members.count - 1
            }
        }
    }
}

/// Converts Swift numbers to JSON numbers, refusing the ones JSON cannot hold exactly.
enum NumberEncoding {
    static func integer<I: FixedWidthInteger>(_ value: I, codingPath: [any CodingKey]) throws -> JSONValue {
        guard let exact = Int64(exactly: value) else {
            throw JSONValueCodingError(
                reason: .numberNotRepresentable, codingPath: codingPath,
                message: "integer \(value) is larger than \(Int64.max), the largest JSON integer supported")
        }
        return .integer(exact)
    }

    static func real<F: BinaryFloatingPoint>(_ value: F, codingPath: [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw JSONValueCodingError(
                reason: .numberNotRepresentable, codingPath: codingPath,
                message: "\(value) is not a finite number and JSON has no representation for it")
        }
        return .real(Double(value))
    }
}

struct NodeEncoder: Encoder {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(NodeKeyedEncodingContainer<Key>(node: node.makeObject(), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        NodeUnkeyedEncodingContainer(node: node.makeArray(), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        NodeSingleValueEncodingContainer(node: node, codingPath: codingPath)
    }
}

struct NodeKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    private func set(_ value: JSONValue, _ key: Key) {
        node.setMember(key.stringValue, value)
    }

    mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        set(try NumberEncoding.real(value, codingPath: codingPath + [key]), key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        set(try NumberEncoding.real(value, codingPath: codingPath + [key]), key)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try encodeInteger(value, key) }

    private func encodeInteger<I: FixedWidthInteger>(_ value: I, _ key: Key) throws {
        set(try NumberEncoding.integer(value, codingPath: codingPath + [key]), key)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try node.member(key.stringValue).encode(value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(
            NodeKeyedEncodingContainer<NestedKey>(
                node: node.member(key.stringValue).makeObject(), codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        NodeUnkeyedEncodingContainer(node: node.member(key.stringValue).makeArray(), codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        NodeEncoder(node: node.member("super"), codingPath: codingPath + [SuperKey()])
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        NodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key])
    }
}

struct NodeUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var count: Int { node.elementCount }

    private var nextPath: [any CodingKey] { codingPath + [ArrayIndexKey(count)] }

    mutating func encodeNil() throws { node.appendScalar(.null) }
    mutating func encode(_ value: Bool) throws { node.appendScalar(.bool(value)) }
    mutating func encode(_ value: String) throws { node.appendScalar(.string(value)) }
    mutating func encode(_ value: Double) throws { try appendReal(value) }
    mutating func encode(_ value: Float) throws { try appendReal(value) }
    mutating func encode(_ value: Int) throws { try appendInteger(value) }
    mutating func encode(_ value: Int8) throws { try appendInteger(value) }
    mutating func encode(_ value: Int16) throws { try appendInteger(value) }
    mutating func encode(_ value: Int32) throws { try appendInteger(value) }
    mutating func encode(_ value: Int64) throws { try appendInteger(value) }
    mutating func encode(_ value: UInt) throws { try appendInteger(value) }
    mutating func encode(_ value: UInt8) throws { try appendInteger(value) }
    mutating func encode(_ value: UInt16) throws { try appendInteger(value) }
    mutating func encode(_ value: UInt32) throws { try appendInteger(value) }
    mutating func encode(_ value: UInt64) throws { try appendInteger(value) }

    private func appendInteger<I: FixedWidthInteger>(_ value: I) throws {
        node.appendScalar(try NumberEncoding.integer(value, codingPath: nextPath))
    }

    private func appendReal<F: BinaryFloatingPoint>(_ value: F) throws {
        node.appendScalar(try NumberEncoding.real(value, codingPath: nextPath))
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = nextPath
        try node.appendElement().encode(value, codingPath: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        return KeyedEncodingContainer(
            NodeKeyedEncodingContainer<NestedKey>(node: node.appendElement().makeObject(), codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        return NodeUnkeyedEncodingContainer(node: node.appendElement().makeArray(), codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let path = nextPath
        return NodeEncoder(node: node.appendElement(), codingPath: path)
    }
}

struct NodeSingleValueEncodingContainer: SingleValueEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.setScalar(.null) }
    mutating func encode(_ value: Bool) throws { node.setScalar(.bool(value)) }
    mutating func encode(_ value: String) throws { node.setScalar(.string(value)) }
    mutating func encode(_ value: Double) throws {
        node.setScalar(try NumberEncoding.real(value, codingPath: codingPath))
    }
    mutating func encode(_ value: Float) throws {
        node.setScalar(try NumberEncoding.real(value, codingPath: codingPath))
    }
    mutating func encode(_ value: Int) throws { try setInteger(value) }
    mutating func encode(_ value: Int8) throws { try setInteger(value) }
    mutating func encode(_ value: Int16) throws { try setInteger(value) }
    mutating func encode(_ value: Int32) throws { try setInteger(value) }
    mutating func encode(_ value: Int64) throws { try setInteger(value) }
    mutating func encode(_ value: UInt) throws { try setInteger(value) }
    mutating func encode(_ value: UInt8) throws { try setInteger(value) }
    mutating func encode(_ value: UInt16) throws { try setInteger(value) }
    mutating func encode(_ value: UInt32) throws { try setInteger(value) }
    mutating func encode(_ value: UInt64) throws { try setInteger(value) }

    private func setInteger<I: FixedWidthInteger>(_ value: I) throws {
        node.setScalar(try NumberEncoding.integer(value, codingPath: codingPath))
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try node.encode(value, codingPath: codingPath)
    }
}
