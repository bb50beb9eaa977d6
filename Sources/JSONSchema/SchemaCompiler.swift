import JSONPatch

/// Turns a schema document into `SchemaNode`s: first every `$id` and `$anchor` is indexed, then
/// the root is compiled, then each `$ref` target (which may compile more nodes and more refs).
struct SchemaCompiler {
    let document: JSONValue
    let options: JSONSchema.Options
    private(set) var nodes: [SchemaNode] = []
    private var nodeAt: [JSONPointer: Int] = [:]
    /// Absolute URI of a resource (no fragment) → where its schema is in the document.
    private var resources: [String: JSONPointer] = [:]
    /// Absolute URI with an anchor as its fragment → where the anchored schema is.
    private var anchors: [String: JSONPointer] = [:]
    /// The base URI in force at each indexed schema location.
    private var baseAt: [JSONPointer: URIReference] = [:]
    private var pendingReferences: [(node: Int, reference: String, base: URIReference, at: JSONPointer)] = []

    /// The base of a schema without `$id`: only references inside the document resolve against it.
    static let documentBase = URIReference(parsing: "patchsync:/schema.json")
    /// Deeper schemas than this are refused, so no walk over them can exhaust the stack.
    static let maximumDepth = 256

    static let singleSchemaKeywords: Set<String> = [
        "not", "if", "then", "else", "items", "contains", "additionalProperties", "propertyNames",
        "unevaluatedItems", "unevaluatedProperties",
    ]
    static let schemaArrayKeywords: Set<String> = ["allOf", "anyOf", "oneOf", "prefixItems"]
    static let schemaMapKeywords: Set<String> = ["$defs", "properties", "patternProperties", "dependentSchemas"]
    /// Keywords that only annotate: accepted and never checked (`x-*` members too).
    static let annotationKeywords: Set<String> = [
        "title", "description", "examples", "format", "default", "deprecated", "readOnly", "writeOnly",
        "$comment",
    ]
    static let draft202012 = "https://json-schema.org/draft/2020-12/schema"

    init(document: JSONValue, options: JSONSchema.Options) {
        self.document = document
        self.options = options
    }

    /// Compiles the whole document; the root node is index 0.
    mutating func compile() throws(SchemaCompileError) {
        try index(document, at: .root, base: Self.documentBase, depth: 0)
        _ = try node(at: .root, value: document, base: baseAt[.root] ?? Self.documentBase, depth: 0)
        while let pending = pendingReferences.popLast() {
            let target = try resolve(pending.reference, base: pending.base, at: pending.at)
            nodes[pending.node].reference = target
        }
        try refuseReferenceCycles()
    }

    // MARK: Identifiers

    private mutating func index(
        _ value: JSONValue, at location: JSONPointer, base: URIReference, depth: Int
    ) throws(SchemaCompileError) {
        guard depth <= Self.maximumDepth else {
            throw SchemaCompileError(
                schemaPointer: location, reason: "the schema nests deeper than \(Self.maximumDepth) levels")
        }
        guard case .object(let object) = value else { return }
        var base = base
        if case .string(let id)? = object["$id"] {
            let reference = URIReference(parsing: id)
            if let fragment = reference.fragment, !fragment.isEmpty {
                throw SchemaCompileError(
                    schemaPointer: location.appending("$id"),
                    reason: "$id \"\(id)\" has a fragment; name a location with $anchor instead")
            }
            base = reference.resolved(against: base).withoutFragment
            resources[base.text] = location
        } else if location.tokens.isEmpty {
            resources[base.text] = location
        }
        baseAt[location] = base
        if case .string(let anchor)? = object["$anchor"] {
            anchors[base.text + "#" + anchor] = location
        }
        for (keyword, member) in object {
            let at = location.appending(keyword)
            if Self.singleSchemaKeywords.contains(keyword) {
                try index(member, at: at, base: base, depth: depth + 1)
            } else if Self.schemaArrayKeywords.contains(keyword), case .array(let schemas) = member {
                for (position, schema) in schemas.enumerated() {
                    try index(schema, at: at.appending(index: position), base: base, depth: depth + 1)
                }
            } else if Self.schemaMapKeywords.contains(keyword), case .object(let schemas) = member {
                for (name, schema) in schemas {
                    try index(schema, at: at.appending(name), base: base, depth: depth + 1)
                }
            }
        }
    }

    /// The node a `$ref` names, compiling it if no node exists at that location yet.
    private mutating func resolve(_ reference: String, base: URIReference, at: JSONPointer) throws(SchemaCompileError) -> Int {
        let target = URIReference(parsing: reference).resolved(against: base)
        let resource = target.withoutFragment.text
        let fragment = target.fragment ?? ""
        var location: JSONPointer?
        if fragment.isEmpty {
            location = resources[resource]
        } else if fragment.hasPrefix("/") {
            guard let decoded = URIReference.percentDecoded(fragment), let pointer = try? JSONPointer(parsing: decoded)
            else {
                throw SchemaCompileError(schemaPointer: at, reason: "$ref \"\(reference)\" has a malformed JSON Pointer")
            }
            if let root = resources[resource] {
                location = JSONPointer(tokens: root.tokens + pointer.tokens)
            }
        } else {
            location = anchors[resource + "#" + fragment]
        }
        guard let location else {
            let outside = resources[resource] == nil
            throw SchemaCompileError(
                schemaPointer: at,
                reason: outside
                    ? "$ref \"\(reference)\" names \(resource), which is not in this file (nothing is fetched)"
                    : "$ref \"\(reference)\" names nothing in this file")
        }
        if let existing = nodeAt[location] { return existing }
        guard let value = Self.value(at: location, in: document) else {
            throw SchemaCompileError(schemaPointer: at, reason: "$ref \"\(reference)\" names nothing in this file")
        }
        return try node(at: location, value: value, base: baseAt[location] ?? target.withoutFragment, depth: 0)
    }

    private static func value(at location: JSONPointer, in document: JSONValue) -> JSONValue? {
        var current = document
        for token in location.tokens {
            switch current {
            case .object(let object):
                guard let member = object[token] else { return nil }
                current = member
            case .array(let array):
                guard let position = Int(token), array.indices.contains(position),
                    String(position) == token
                else { return nil }
                current = array[position]
            default:
                return nil
            }
        }
        return current
    }

    // MARK: Nodes

    private mutating func node(
        at location: JSONPointer, value: JSONValue, base: URIReference, depth: Int
    ) throws(SchemaCompileError) -> Int {
        if let existing = nodeAt[location] { return existing }
        guard depth <= Self.maximumDepth else {
            throw SchemaCompileError(
                schemaPointer: location, reason: "the schema nests deeper than \(Self.maximumDepth) levels")
        }
        let index = nodes.count
        let node = SchemaNode(location: location)
        nodes.append(node)
        nodeAt[location] = index
        switch value {
        case .bool(let constant):
            node.constant = constant
        case .object(let object):
            let base = baseAt[location] ?? base
            for (keyword, member) in object {
                try compile(keyword: keyword, member, into: node, index: index, base: base, depth: depth)
            }
            node.visitsEveryMember =
                !node.patternProperties.isEmpty || node.additionalProperties != nil || node.propertyNames != nil
                || node.unevaluatedProperties != nil
        default:
            throw SchemaCompileError(
                schemaPointer: location, reason: "a schema must be an object or a boolean, not \(value.typeName)")
        }
        return index
    }

    private mutating func compile(
        keyword: String, _ value: JSONValue, into node: SchemaNode, index: Int, base: URIReference, depth: Int
    ) throws(SchemaCompileError) {
        let at = node.location.appending(keyword)
        func child(_ value: JSONValue, _ location: JSONPointer) throws(SchemaCompileError) -> Int {
            try self.node(at: location, value: value, base: base, depth: depth + 1)
        }
        func schemaArray() throws(SchemaCompileError) -> [Int] {
            guard case .array(let schemas) = value, !schemas.isEmpty else {
                throw SchemaCompileError(schemaPointer: at, reason: "\(keyword) must be a non-empty array of schemas")
            }
            var indices: [Int] = []
            for (position, schema) in schemas.enumerated() {
                indices.append(try child(schema, at.appending(index: position)))
            }
            return indices
        }
        func schemaMap() throws(SchemaCompileError) -> [(String, Int)] {
            guard case .object(let schemas) = value else {
                throw SchemaCompileError(schemaPointer: at, reason: "\(keyword) must be an object of schemas")
            }
            var compiled: [(String, Int)] = []
            for (name, schema) in schemas {
                compiled.append((name, try child(schema, at.appending(name))))
            }
            return compiled
        }
        func count() throws(SchemaCompileError) -> Int {
            if let integer = value.integerValue, integer >= 0 {
                return Int(clamping: integer)
            }
            if case .real(let real) = value, real >= 0, real.isFinite, real.rounded(.towardZero) == real {
                return Int.max  // larger than any count a document can have
            }
            throw SchemaCompileError(schemaPointer: at, reason: "\(keyword) must be a non-negative integer")
        }
        func number() throws(SchemaCompileError) -> JSONValue {
            switch value {
            case .integer, .real: return value
            default: throw SchemaCompileError(schemaPointer: at, reason: "\(keyword) must be a number, not \(value.typeName)")
            }
        }
        func string() throws(SchemaCompileError) -> String {
            guard case .string(let string) = value else {
                throw SchemaCompileError(schemaPointer: at, reason: "\(keyword) must be a string, not \(value.typeName)")
            }
            return string
        }
        func pattern(_ source: String, _ location: JSONPointer) throws(SchemaCompileError) -> ECMAPattern {
            do {
                return try ECMAPattern(source)
            } catch {
                throw SchemaCompileError(
                    schemaPointer: location, reason: "the pattern \(JSONText.quoted(source)) is not supported: \(error.reason)")
            }
        }
        func names() throws(SchemaCompileError) -> [String] {
            guard case .array(let members) = value else {
                throw SchemaCompileError(schemaPointer: at, reason: "\(keyword) must be an array of strings")
            }
            var names: [String] = []
            for member in members {
                guard case .string(let name) = member else {
                    throw SchemaCompileError(schemaPointer: at, reason: "\(keyword) must be an array of strings")
                }
                guard !names.contains(name) else {
                    throw SchemaCompileError(schemaPointer: at, reason: "\(keyword) names \"\(name)\" twice")
                }
                names.append(name)
            }
            return names
        }

        switch keyword {
        case "$schema":
            let uri = try string()
            guard uri == Self.draft202012 || uri == Self.draft202012 + "#" else {
                throw SchemaCompileError(
                    schemaPointer: at, reason: "$schema \"\(uri)\" is not supported; only draft 2020-12 (\(Self.draft202012)) is")
            }
        case "$id":
            _ = try string()  // indexed before compiling
        case "$anchor":
            let anchor = try string()
            guard let first = anchor.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || first == "_",
                anchor.unicodeScalars.allSatisfy({
                    $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0))
                })
            else {
                throw SchemaCompileError(schemaPointer: at, reason: "$anchor \"\(anchor)\" is not a plain name")
            }
        case "$ref":
            pendingReferences.append((index, try string(), base, at))
        case "$defs":
            _ = try schemaMap()
        case "type":
            var types = JSONTypeSet()
            let names: [JSONValue]
            switch value {
            case .string: names = [value]
            case .array(let array) where !array.isEmpty: names = array
            default: throw SchemaCompileError(schemaPointer: at, reason: "type must be a type name or an array of them")
            }
            for name in names {
                guard case .string(let name) = name, let type = JSONTypeSet(name: name) else {
                    throw SchemaCompileError(
                        schemaPointer: at,
                        reason: "type \(JSONText.brief(name)) is not one of null, boolean, object, array, number, integer, string")
                }
                types.insert(type)
            }
            node.types = types
        case "enum":
            guard case .array(let values) = value else {
                throw SchemaCompileError(schemaPointer: at, reason: "enum must be an array")
            }
            node.enumValues = EnumLookup(values)
        case "const":
            node.constValue = value
        case "multipleOf":
            let divisor = try number()
            let positive: Bool
            switch divisor {
            case .integer(let integer): positive = integer > 0
            case .real(let real): positive = real > 0
            default: positive = false
            }
            guard positive else {
                throw SchemaCompileError(schemaPointer: at, reason: "multipleOf must be greater than 0")
            }
            node.multipleOf = divisor
        case "minimum": node.minimum = try number()
        case "maximum": node.maximum = try number()
        case "exclusiveMinimum": node.exclusiveMinimum = try number()
        case "exclusiveMaximum": node.exclusiveMaximum = try number()
        case "minLength": node.minLength = try count()
        case "maxLength": node.maxLength = try count()
        case "pattern": node.pattern = try pattern(try string(), at)
        case "properties":
            for (name, child) in try schemaMap() {
                node.properties[name] = child
                node.propertyOrder.append(name)
            }
        case "patternProperties":
            guard case .object(let schemas) = value else {
                throw SchemaCompileError(schemaPointer: at, reason: "patternProperties must be an object of schemas")
            }
            for (source, schema) in schemas {
                let compiled = try pattern(source, at.appending(source))
                node.patternProperties.append((compiled, try child(schema, at.appending(source))))
            }
        case "additionalProperties": node.additionalProperties = try child(value, at)
        case "propertyNames": node.propertyNames = try child(value, at)
        case "required": node.required = try names()
        case "minProperties": node.minProperties = try count()
        case "maxProperties": node.maxProperties = try count()
        case "dependentRequired":
            guard case .object(let dependencies) = value else {
                throw SchemaCompileError(schemaPointer: at, reason: "dependentRequired must be an object of string arrays")
            }
            for (property, required) in dependencies {
                let names = required.arrayValue?.compactMap(\.stringValue)
                guard let names, names.count == required.arrayValue?.count else {
                    throw SchemaCompileError(schemaPointer: at.appending(property), reason: "must be an array of strings")
                }
                node.dependentRequired.append((property, names))
            }
        case "dependentSchemas":
            node.dependentSchemas = try schemaMap().map { (property: $0.0, node: $0.1) }
        case "unevaluatedProperties": node.unevaluatedProperties = try child(value, at)
        case "prefixItems": node.prefixItems = try schemaArray()
        case "items":
            guard !value.isArrayForm else {
                throw SchemaCompileError(
                    schemaPointer: at, reason: "items must be a schema; the array form of earlier drafts is prefixItems in 2020-12")
            }
            node.items = try child(value, at)
        case "contains": node.contains = try child(value, at)
        case "minContains": node.minContains = try count()
        case "maxContains": node.maxContains = try count()
        case "minItems": node.minItems = try count()
        case "maxItems": node.maxItems = try count()
        case "uniqueItems":
            guard case .bool(let unique) = value else {
                throw SchemaCompileError(schemaPointer: at, reason: "uniqueItems must be true or false")
            }
            node.uniqueItems = unique
        case "unevaluatedItems": node.unevaluatedItems = try child(value, at)
        case "allOf": node.allOf = try schemaArray()
        case "anyOf": node.anyOf = try schemaArray()
        case "oneOf": node.oneOf = try schemaArray()
        case "not": node.not = try child(value, at)
        case "if": node.ifNode = try child(value, at)
        case "then": node.thenNode = try child(value, at)
        case "else": node.elseNode = try child(value, at)
        default:
            if Self.annotationKeywords.contains(keyword) || keyword.hasPrefix("x-") { return }
            if options.ignoresUnknownKeywords { return }
            throw SchemaCompileError(schemaPointer: at, reason: Self.unknownKeywordReason(keyword))
        }
    }

    static func unknownKeywordReason(_ keyword: String) -> String {
        switch keyword {
        case "$dynamicRef", "$dynamicAnchor", "$vocabulary", "$recursiveRef", "$recursiveAnchor":
            "\(keyword) is not supported by this validator"
        case "definitions":
            "definitions is not a draft 2020-12 keyword; use $defs"
        case "dependencies":
            "dependencies is not a draft 2020-12 keyword; use dependentRequired or dependentSchemas"
        default:
            "unknown keyword \"\(keyword)\" (annotations of your own must start with x-)"
        }
    }

    // MARK: Cycles

    /// A `$ref` loop that never moves to a child value (`{"$ref": "#"}`) would recurse forever
    /// on any instance: refuse it here rather than at validation.
    private func refuseReferenceCycles() throws(SchemaCompileError) {
        // 0 = not visited, 1 = on the current path, 2 = done.
        var state = [UInt8](repeating: 0, count: nodes.count)
        for start in nodes.indices where state[start] == 0 {
            var stack: [(node: Int, next: Int)] = [(start, 0)]
            state[start] = 1
            while let top = stack.last {
                let edges = inPlaceEdges(of: nodes[top.node])
                if top.next < edges.count {
                    stack[stack.count - 1].next += 1
                    let (target, keyword) = edges[top.next]
                    switch state[target] {
                    case 0:
                        state[target] = 1
                        stack.append((target, 0))
                    case 1:
                        throw SchemaCompileError(
                            schemaPointer: keyword,
                            reason: "this schema applies itself to the same value again (a $ref loop that never reaches a member or item)")
                    default:
                        break
                    }
                } else {
                    state[top.node] = 2
                    stack.removeLast()
                }
            }
        }
    }

    /// The subschemas applied to the same value as the node itself, with the pointer of the
    /// keyword that applies each.
    private func inPlaceEdges(of node: SchemaNode) -> [(node: Int, keyword: JSONPointer)] {
        var edges: [(node: Int, keyword: JSONPointer)] = []
        func add(_ keyword: String, _ targets: [Int]) {
            for (position, target) in targets.enumerated() {
                let at = node.location.appending(keyword)
                edges.append((target, targets.count > 1 || keyword.hasSuffix("Of") ? at.appending(index: position) : at))
            }
        }
        add("$ref", node.reference.map { [$0] } ?? [])
        add("allOf", node.allOf)
        add("anyOf", node.anyOf)
        add("oneOf", node.oneOf)
        add("not", node.not.map { [$0] } ?? [])
        add("if", node.ifNode.map { [$0] } ?? [])
        add("then", node.thenNode.map { [$0] } ?? [])
        add("else", node.elseNode.map { [$0] } ?? [])
        for (property, target) in node.dependentSchemas {
            edges.append((target, node.location.appending("dependentSchemas").appending(property)))
        }
        return edges
    }
}

extension JSONValue {
    fileprivate var isArrayForm: Bool {
        if case .array = self { return true }
        return false
    }
}
