import JSONPatch

/// Decodes `Decodable` values from a `JSONValue` without Foundation.
///
/// Numbers convert when exact: `3.0` decodes as `Int` 3, `3.5` does not. Errors are
/// `JSONValueCodingError`s naming the coding path and what was expected and found;
/// a `DecodingError` thrown by a type's own `init(from:)` is turned into one, any
/// other error is passed through unchanged.
public struct JSONValueDecoder: Sendable {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        do {
            return try T(from: ValueDecoder(value: value, codingPath: []))
        } catch let error as DecodingError {
            throw JSONValueCodingError(error)
        }
    }
}

extension JSONValueCodingError {
    init(_ error: DecodingError) {
        switch error {
        case .typeMismatch(_, let context):
            self.init(reason: .typeMismatch, codingPath: context.codingPath, message: context.debugDescription)
        case .valueNotFound(_, let context):
            self.init(reason: .typeMismatch, codingPath: context.codingPath, message: context.debugDescription)
        case .keyNotFound(let key, let context):
            self.init(
                reason: .missingKey, codingPath: context.codingPath + [key],
                message: "missing member \"\(key.stringValue)\"")
        case .dataCorrupted(let context):
            self.init(reason: .invalidValue, codingPath: context.codingPath, message: context.debugDescription)
        @unknown default:
            self.init(reason: .invalidValue, path: "", message: "\(error)")
        }
    }
}

/// Typed reads of one JSON value, each failing with an error that names the path.
enum ValueReading {
    static func mismatch(_ expected: String, _ found: JSONValue, _ codingPath: [any CodingKey]) -> JSONValueCodingError
    {
        JSONValueCodingError(
            reason: .typeMismatch, codingPath: codingPath,
            message: "expected \(expected), found \(found.typeName)")
    }

    static func bool(_ value: JSONValue, _ codingPath: [any CodingKey]) throws -> Bool {
        guard case .bool(let bool) = value else { throw mismatch("a boolean", value, codingPath) }
        return bool
    }

    static func string(_ value: JSONValue, _ codingPath: [any CodingKey]) throws -> String {
        guard case .string(let string) = value else { throw mismatch("a string", value, codingPath) }
        return string
    }

    static func integer<I: FixedWidthInteger>(_ value: JSONValue, _ codingPath: [any CodingKey]) throws -> I {
        let result: I?
        switch value {
        case .integer(let integer): result = I(exactly: integer)
        case .real(let real):
            guard real.rounded(.towardZero) == real else {
                throw JSONValueCodingError(
                    reason: .numberNotRepresentable, codingPath: codingPath,
                    message: "expected an integer, found \(real)")
            }
            result = I(exactly: real)
        default: throw mismatch("an integer", value, codingPath)
        }
        guard let result else {
            throw JSONValueCodingError(
                reason: .numberNotRepresentable, codingPath: codingPath,
                message: "number \(describe(value)) does not fit in \(I.self)")
        }
        return result
    }

    static func double(_ value: JSONValue, _ codingPath: [any CodingKey]) throws -> Double {
        switch value {
        case .integer(let integer): return Double(integer)
        case .real(let real): return real
        default: throw mismatch("a number", value, codingPath)
        }
    }

    static func float(_ value: JSONValue, _ codingPath: [any CodingKey]) throws -> Float {
        let double = try double(value, codingPath)
        let float = Float(double)
        guard float.isFinite || !double.isFinite else {
            throw JSONValueCodingError(
                reason: .numberNotRepresentable, codingPath: codingPath,
                message: "number \(double) does not fit in Float")
        }
        return float
    }

    static func object(_ value: JSONValue, _ codingPath: [any CodingKey]) throws -> JSONObject {
        guard case .object(let object) = value else { throw mismatch("an object", value, codingPath) }
        return object
    }

    static func array(_ value: JSONValue, _ codingPath: [any CodingKey]) throws -> [JSONValue] {
        guard case .array(let array) = value else { throw mismatch("an array", value, codingPath) }
        return array
    }

    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .integer(let integer): "\(integer)"
        case .real(let real): numberText(real)
        default: value.typeName
        }
    }
}

struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(
            ObjectDecodingContainer<Key>(object: try ValueReading.object(value, codingPath), codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        ArrayDecodingContainer(elements: try ValueReading.array(value, codingPath), codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        ScalarDecodingContainer(value: value, codingPath: codingPath)
    }
}

struct ObjectDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let codingPath: [any CodingKey]

    var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = object[key.stringValue] else {
            throw JSONValueCodingError(
                reason: .missingKey, codingPath: codingPath + [key],
                message: "missing member \"\(key.stringValue)\"")
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try ValueReading.bool(member(key), codingPath + [key])
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try ValueReading.string(member(key), codingPath + [key])
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try ValueReading.double(member(key), codingPath + [key])
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try ValueReading.float(member(key), codingPath + [key])
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(key) }

    private func integer<I: FixedWidthInteger>(_ key: Key) throws -> I {
        try ValueReading.integer(member(key), codingPath + [key])
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: ValueDecoder(value: member(key), codingPath: codingPath + [key]))
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: member(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: object["super"] ?? .null, codingPath: codingPath + [SuperKey()])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: object[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

struct ArrayDecodingContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private var currentPath: [any CodingKey] { codingPath + [ArrayIndexKey(currentIndex)] }

    /// The next element; the index only advances when the read succeeds, as `UnkeyedDecodingContainer` requires.
    private mutating func next<T>(_ read: (JSONValue, [any CodingKey]) throws -> T) throws -> T {
        guard !isAtEnd else {
            throw JSONValueCodingError(
                reason: .missingKey, codingPath: currentPath,
                message: "array has only \(elements.count) elements")
        }
        let result = try read(elements[currentIndex], currentPath)
        currentIndex += 1
        return result
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(ValueReading.bool) }
    mutating func decode(_ type: String.Type) throws -> String { try next(ValueReading.string) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(ValueReading.double) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(ValueReading.float) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(ValueReading.integer) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(ValueReading.integer) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(ValueReading.integer) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(ValueReading.integer) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(ValueReading.integer) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(ValueReading.integer) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(ValueReading.integer) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(ValueReading.integer) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(ValueReading.integer) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(ValueReading.integer) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next { value, path in try T(from: ValueDecoder(value: value, codingPath: path)) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try next { value, path in try ValueDecoder(value: value, codingPath: path).container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next { value, path in try ValueDecoder(value: value, codingPath: path).unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        try next { value, path in ValueDecoder(value: value, codingPath: path) }
    }
}

struct ScalarDecodingContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try ValueReading.bool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try ValueReading.string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try ValueReading.double(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try ValueReading.float(value, codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try ValueReading.integer(value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try ValueReading.integer(value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try ValueReading.integer(value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try ValueReading.integer(value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try ValueReading.integer(value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try ValueReading.integer(value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try ValueReading.integer(value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try ValueReading.integer(value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try ValueReading.integer(value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try ValueReading.integer(value, codingPath) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: ValueDecoder(value: value, codingPath: codingPath))
    }
}
