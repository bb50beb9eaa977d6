import JSONPatch

/// One compiled (sub)schema. Nodes live in one array and name each other by index, so `$ref`
/// cycles need no reference cycles; a node is filled in by the compiler and never changed after.
final class SchemaNode: @unchecked Sendable {
    /// Where the subschema is in the schema document, for compile errors and tests.
    let location: JSONPointer
    /// `true` and `false` schemas; nil for an object schema.
    var constant: Bool?

    var reference: Int?
    var types: JSONTypeSet?
    var enumValues: EnumLookup?
    var constValue: JSONValue?

    // Numbers: bounds are `.integer` or `.real` values.
    var minimum: JSONValue?
    var maximum: JSONValue?
    var exclusiveMinimum: JSONValue?
    var exclusiveMaximum: JSONValue?
    var multipleOf: JSONValue?

    // Strings: lengths in Unicode code points.
    var minLength: Int?
    var maxLength: Int?
    var pattern: ECMAPattern?

    // Objects.
    var properties: [String: Int] = [:]
    /// `properties` in schema order, for deterministic messages.
    var propertyOrder: [String] = []
    var patternProperties: [(pattern: ECMAPattern, node: Int)] = []
    var additionalProperties: Int?
    var propertyNames: Int?
    var required: [String] = []
    var minProperties: Int?
    var maxProperties: Int?
    var dependentRequired: [(property: String, required: [String])] = []
    var dependentSchemas: [(property: String, node: Int)] = []
    var unevaluatedProperties: Int?

    // Arrays.
    var prefixItems: [Int] = []
    var items: Int?
    var contains: Int?
    var minContains: Int?
    var maxContains: Int?
    var minItems: Int?
    var maxItems: Int?
    var uniqueItems = false
    var unevaluatedItems: Int?

    // Applicators on the same instance.
    var allOf: [Int] = []
    var anyOf: [Int] = []
    var oneOf: [Int] = []
    var not: Int?
    var ifNode: Int?
    var thenNode: Int?
    var elseNode: Int?

    /// Whether the node's object members must be visited one by one (rather than looking up
    /// only the named `properties`).
    var visitsEveryMember = false
    /// Whether `unevaluatedProperties` or `unevaluatedItems` needs the annotations of the
    /// node's other keywords.
    var collectsAnnotations: Bool { unevaluatedProperties != nil || unevaluatedItems != nil }

    init(location: JSONPointer) {
        self.location = location
    }
}

/// The JSON types a `type` keyword allows (`integer` is a number with no fraction).
struct JSONTypeSet: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = JSONTypeSet(rawValue: 1)
    static let boolean = JSONTypeSet(rawValue: 2)
    static let object = JSONTypeSet(rawValue: 4)
    static let array = JSONTypeSet(rawValue: 8)
    static let number = JSONTypeSet(rawValue: 16)
    static let integer = JSONTypeSet(rawValue: 32)
    static let string = JSONTypeSet(rawValue: 64)

    static let names: [(String, JSONTypeSet)] = [
        ("string", .string), ("number", .number), ("integer", .integer), ("boolean", .boolean),
        ("object", .object), ("array", .array), ("null", .null),
    ]

    init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    init?(name: String) {
        guard let entry = Self.names.first(where: { $0.0 == name }) else { return nil }
        self = entry.1
    }

    func allows(_ value: JSONValue) -> Bool {
        switch value {
        case .null: contains(.null)
        case .bool: contains(.boolean)
        case .object: contains(.object)
        case .array: contains(.array)
        case .string: contains(.string)
        case .integer: contains(.number) || contains(.integer)
        case .real(let number):
            contains(.number) || (contains(.integer) && number.isFinite && number.rounded(.towardZero) == number)
        }
    }

    /// "string", "string or null", "object, array or null".
    var spokenNames: String {
        let present = Self.names.filter { contains($0.1) }.map(\.0)
        guard present.count > 1 else { return present.first ?? "nothing" }
        return present.dropLast().joined(separator: ", ") + " or " + present.last!
    }
}
