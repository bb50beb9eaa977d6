import JSONPatch

/// What the keywords that passed have looked at, for `unevaluatedProperties` and
/// `unevaluatedItems` (draft 2020-12 annotations). Collected only under a node that has one.
struct Annotations {
    var allProperties = false
    var properties: Set<String> = []
    var allItems = false
    /// Items before this index were evaluated by `prefixItems`.
    var prefixItemCount = 0
    var containsIndices: Set<Int> = []

    mutating func merge(_ other: Annotations) {
        allProperties = allProperties || other.allProperties
        properties.formUnion(other.properties)
        allItems = allItems || other.allItems
        prefixItemCount = max(prefixItemCount, other.prefixItemCount)
        containsIndices.formUnion(other.containsIndices)
    }
}

/// One token of the instance path, kept unconverted until a failure needs the pointer.
enum PathToken {
    case key(String)
    case index(Int)
}

/// One validation run. `quick` stops at the first failure: the server path, and always inside
/// `anyOf`, `oneOf`, `not`, `if` and `contains`, whose branches only need a yes or no.
struct Evaluator {
    let nodes: [SchemaNode]
    var quick: Bool
    var failures: [ValidationFailure] = []
    var path: [PathToken] = []
    /// The stack address where the run started (the stack grows down on every Linux target).
    private let stackBase: UInt

    /// Validation recurses once or more per level of the value and of the schema: about 2 KiB
    /// a level optimised, 12 KiB in a debug build, when every level goes through `anyOf` and
    /// `$ref`. A run stops where it has used this much and reports the value as too deeply
    /// nested (keyword `nesting`) instead of overflowing the stack; Swift concurrency's threads
    /// overflowed between 2 and 4 MiB.
    static let stackBudget: UInt = 1 << 20

    init(nodes: [SchemaNode], quick: Bool, path: [PathToken] = []) {
        self.nodes = nodes
        self.quick = quick
        self.path = path
        stackBase = Self.stackAddress()
    }

    @inline(never)
    private static func stackAddress() -> UInt {
        var marker: UInt8 = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
    }

    var pointer: JSONPointer {
        JSONPointer(
            tokens: path.map {
                switch $0 {
                case .key(let key): key
                case .index(let index): String(index)
                }
            })
    }

    /// The message is an autoclosure so that building it costs nothing until a failure, and so
    /// that its string interpolations take no room in the recursive functions' stack frames.
    mutating func fail(_ keyword: String, _ message: @autoclosure () -> String) {
        failures.append(ValidationFailure(instancePointer: pointer, keyword: keyword, message: message()))
    }

    /// Runs `body` as a yes-or-no question: quick, its failures removed, the first one returned.
    private mutating func trial(_ body: (inout Evaluator) -> Bool) -> (valid: Bool, failure: ValidationFailure?) {
        let savedQuick = quick
        let mark = failures.count
        quick = true
        let valid = body(&self)
        let failure = failures.count > mark ? failures[mark] : nil
        failures.removeSubrange(mark...)
        quick = savedQuick
        return (valid, failure)
    }

    // MARK: Nodes

    mutating func evaluate(_ index: Int, _ value: JSONValue, _ annotations: inout Annotations?) -> Bool {
        let node = nodes[index]
        if let constant = node.constant {
            if !constant { fail("false", "no value is allowed here") }
            return constant
        }
        let here = Self.stackAddress()
        guard stackBase < here || stackBase - here <= Self.stackBudget else {
            fail("nesting", "the value nests too deeply to validate against this schema")
            return false
        }
        guard node.collectsAnnotations else {
            return evaluateKeywords(node, value, &annotations)
        }
        var own: Annotations? = Annotations()
        let valid = evaluateKeywords(node, value, &own)
        if valid, annotations != nil, let own { annotations!.merge(own) }
        return valid
    }

    /// A subschema applied to a member or item (`properties`, `items`, ...): a `false` schema
    /// there fails with the applying keyword's name and `refusal`, which reads better than
    /// "no value is allowed here (false)".
    private mutating func evaluateApplied(
        _ index: Int, _ value: JSONValue, keyword: String, refusal: @autoclosure () -> String
    ) -> Bool {
        if nodes[index].constant == false {
            fail(keyword, refusal())
            return false
        }
        var none: Annotations? = nil
        return evaluate(index, value, &none)
    }

    private mutating func evaluateKeywords(_ node: SchemaNode, _ value: JSONValue, _ annotations: inout Annotations?) -> Bool {
        var valid = true
        if let reference = node.reference, !evaluate(reference, value, &annotations) {
            valid = false
            if quick { return false }
        }
        if !typeKeyword(node, value) {
            if quick { return false }
            valid = false
        }
        if let enumValues = node.enumValues, !enumValues.contains(value) {
            fail("enum", "\(JSONText.brief(value)) is not one of \(JSONText.list(enumValues.values))")
            if quick { return false }
            valid = false
        }
        if let constValue = node.constValue, !ExactEquality.equal(constValue, value) {
            fail("const", "\(JSONText.brief(value)) is not \(JSONText.brief(constValue))")
            if quick { return false }
            valid = false
        }
        switch value {
        case .integer, .real:
            if !numberKeywords(node, value) {
                if quick { return false }
                valid = false
            }
        case .string(let string):
            if !stringKeywords(node, string) {
                if quick { return false }
                valid = false
            }
        case .object(let object):
            if !objectKeywords(node, object, &annotations) {
                if quick { return false }
                valid = false
            }
        case .array(let array):
            if !arrayKeywords(node, array, &annotations) {
                if quick { return false }
                valid = false
            }
        case .null, .bool:
            break
        }
        if !applicators(node, value, &annotations) {
            if quick { return false }
            valid = false
        }
        // Last: these read what every other keyword of the node evaluated.
        if let unevaluated = node.unevaluatedProperties, case .object(let object) = value {
            if !unevaluatedProperties(unevaluated, object, &annotations) {
                if quick { return false }
                valid = false
            }
        }
        if let unevaluated = node.unevaluatedItems, case .array(let array) = value {
            if !unevaluatedItems(unevaluated, array, &annotations) {
                if quick { return false }
                valid = false
            }
        }
        return valid
    }

    mutating func typeKeyword(_ node: SchemaNode, _ value: JSONValue) -> Bool {
        guard let types = node.types, !types.allows(value) else { return true }
        fail("type", "\(JSONText.brief(value)) is not \(types.article) \(types.spokenNames)")
        return false
    }

    // MARK: Scalars

    private mutating func numberKeywords(_ node: SchemaNode, _ value: JSONValue) -> Bool {
        var valid = true
        func check(_ holds: Bool, _ keyword: String, _ message: @autoclosure () -> String) -> Bool {
            if !holds {
                fail(keyword, message())
                valid = false
            }
            return valid || !quick
        }
        if let bound = node.minimum {
            guard check(NumberComparison.compare(value, bound)! >= 0, "minimum", "\(JSONText.brief(value)) is less than the minimum \(JSONText.brief(bound))") else { return false }
        }
        if let bound = node.exclusiveMinimum {
            guard check(NumberComparison.compare(value, bound)! > 0, "exclusiveMinimum", "\(JSONText.brief(value)) is not greater than \(JSONText.brief(bound))") else { return false }
        }
        if let bound = node.maximum {
            guard check(NumberComparison.compare(value, bound)! <= 0, "maximum", "\(JSONText.brief(value)) is greater than the maximum \(JSONText.brief(bound))") else { return false }
        }
        if let bound = node.exclusiveMaximum {
            guard check(NumberComparison.compare(value, bound)! < 0, "exclusiveMaximum", "\(JSONText.brief(value)) is not less than \(JSONText.brief(bound))") else { return false }
        }
        if let divisor = node.multipleOf {
            guard check(NumberComparison.isMultiple(value, of: divisor), "multipleOf", "\(JSONText.brief(value)) is not a multiple of \(JSONText.brief(divisor))") else { return false }
        }
        return valid
    }

    private mutating func stringKeywords(_ node: SchemaNode, _ string: String) -> Bool {
        var valid = true
        if node.minLength != nil || node.maxLength != nil {
            let length = string.unicodeScalars.count
            if let minimum = node.minLength, length < minimum {
                fail("minLength", "\(JSONText.brief(.string(string))) is shorter than \(minimum) characters")
                if quick { return false }
                valid = false
            }
            if let maximum = node.maxLength, length > maximum {
                fail("maxLength", "\(JSONText.brief(.string(string))) is longer than \(maximum) characters")
                if quick { return false }
                valid = false
            }
        }
        if let pattern = node.pattern, !pattern.matches(string) {
            fail("pattern", "\(JSONText.brief(.string(string))) does not match the pattern \(JSONText.quoted(pattern.source))")
            valid = false
        }
        return valid
    }

    // MARK: Objects

    /// The keywords that look only at an object's size and names, not into its members.
    mutating func objectShapeKeywords(_ node: SchemaNode, _ object: JSONObject) -> Bool {
        var valid = true
        if let minimum = node.minProperties, object.count < minimum {
            fail("minProperties", "has \(object.count) \(object.count == 1 ? "property" : "properties"), fewer than \(minimum)")
            if quick { return false }
            valid = false
        }
        if let maximum = node.maxProperties, object.count > maximum {
            fail("maxProperties", "has \(object.count) properties, more than \(maximum)")
            if quick { return false }
            valid = false
        }
        for name in node.required where object[name] == nil {
            fail("required", "required property \(JSONText.quoted(name)) is missing")
            if quick { return false }
            valid = false
        }
        for (property, required) in node.dependentRequired where object[property] != nil {
            for name in required where object[name] == nil {
                fail(
                    "dependentRequired",
                    "property \(JSONText.quoted(name)) is required when \(JSONText.quoted(property)) is present")
                if quick { return false }
                valid = false
            }
        }
        return valid
    }

    private mutating func objectKeywords(_ node: SchemaNode, _ object: JSONObject, _ annotations: inout Annotations?) -> Bool {
        var valid = objectShapeKeywords(node, object)
        if !valid && quick { return false }
        if node.visitsEveryMember {
            for (key, member) in object {
                path.append(.key(key))
                let memberValid = memberKeywords(node, key, member, &annotations)
                path.removeLast()
                if !memberValid {
                    if quick { return false }
                    valid = false
                }
            }
        } else {
            for name in node.propertyOrder {
                guard let member = object[name] else { continue }
                path.append(.key(name))
                let memberValid = evaluateApplied(
                    node.properties[name]!, member, keyword: "properties",
                    refusal: "property \(JSONText.quoted(name)) is not allowed")
                path.removeLast()
                if !memberValid {
                    if quick { return false }
                    valid = false
                }
                if annotations != nil { annotations!.properties.insert(name) }
            }
        }
        return valid
    }

    /// `properties`, `patternProperties`, `additionalProperties` and `propertyNames` for one
    /// member; the path already ends with its key.
    private mutating func memberKeywords(
        _ node: SchemaNode, _ key: String, _ member: JSONValue, _ annotations: inout Annotations?
    ) -> Bool {
        var valid = true
        var evaluated = false
        if let propertyNode = node.properties[key] {
            evaluated = true
            if !evaluateApplied(propertyNode, member, keyword: "properties", refusal: "property \(JSONText.quoted(key)) is not allowed") {
                if quick { return false }
                valid = false
            }
        }
        for (pattern, patternNode) in node.patternProperties where pattern.matches(key) {
            evaluated = true
            if !evaluateApplied(
                patternNode, member, keyword: "patternProperties",
                refusal: "property \(JSONText.quoted(key)) is not allowed (it matches \(JSONText.quoted(pattern.source)))")
            {
                if quick { return false }
                valid = false
            }
        }
        if !evaluated, let additional = node.additionalProperties {
            evaluated = true
            if !evaluateApplied(additional, member, keyword: "additionalProperties", refusal: "property \(JSONText.quoted(key)) is not allowed") {
                if quick { return false }
                valid = false
            }
        }
        if let names = node.propertyNames, !memberNameKeyword(names, key) {
            if quick { return false }
            valid = false
        }
        if evaluated, annotations != nil { annotations!.properties.insert(key) }
        return valid
    }

    /// `propertyNames` for one member (the path ends with its key): failures say it is the name.
    mutating func memberNameKeyword(_ names: Int, _ key: String) -> Bool {
        let mark = failures.count
        let valid = evaluateApplied(
            names, .string(key), keyword: "propertyNames", refusal: "property name \(JSONText.quoted(key)) is not allowed")
        for position in failures.indices.dropFirst(mark) where failures[position].keyword != "propertyNames" {
            failures[position].message = "property name " + failures[position].message
        }
        return valid
    }

    private mutating func unevaluatedProperties(_ unevaluated: Int, _ object: JSONObject, _ annotations: inout Annotations?) -> Bool {
        var valid = true
        let seen = annotations ?? Annotations()
        if !seen.allProperties {
            for (key, member) in object where !seen.properties.contains(key) {
                path.append(.key(key))
                let memberValid = evaluateApplied(
                    unevaluated, member, keyword: "unevaluatedProperties",
                    refusal: "property \(JSONText.quoted(key)) is not allowed")
                path.removeLast()
                if !memberValid {
                    if quick { return false }
                    valid = false
                }
            }
        }
        if valid, annotations != nil { annotations!.allProperties = true }
        return valid
    }

    // MARK: Arrays

    /// The keywords that look only at an array's length.
    mutating func arrayShapeKeywords(_ node: SchemaNode, _ array: [JSONValue]) -> Bool {
        var valid = true
        if let minimum = node.minItems, array.count < minimum {
            fail("minItems", "has \(array.count) \(array.count == 1 ? "item" : "items"), fewer than \(minimum)")
            if quick { return false }
            valid = false
        }
        if let maximum = node.maxItems, array.count > maximum {
            fail("maxItems", "has \(array.count) items, more than \(maximum)")
            if quick { return false }
            valid = false
        }
        return valid
    }

    private mutating func arrayKeywords(_ node: SchemaNode, _ array: [JSONValue], _ annotations: inout Annotations?) -> Bool {
        var valid = arrayShapeKeywords(node, array)
        if !valid && quick { return false }
        if !node.prefixItems.isEmpty || node.items != nil {
            for (position, item) in array.enumerated() {
                let itemNode: Int
                let keyword: String
                if position < node.prefixItems.count {
                    itemNode = node.prefixItems[position]
                    keyword = "prefixItems"
                } else if let items = node.items {
                    itemNode = items
                    keyword = "items"
                } else {
                    break
                }
                path.append(.index(position))
                let itemValid = evaluateApplied(itemNode, item, keyword: keyword, refusal: "item \(position) is not allowed")
                path.removeLast()
                if !itemValid {
                    if quick { return false }
                    valid = false
                }
            }
            if annotations != nil {
                annotations!.prefixItemCount = max(annotations!.prefixItemCount, min(array.count, node.prefixItems.count))
                if node.items != nil { annotations!.allItems = true }
            }
        }
        if let contains = node.contains {
            let minimum = node.minContains ?? 1
            var matches = 0
            for (position, item) in array.enumerated() {
                path.append(.index(position))
                let (itemMatches, _) = trial { evaluator in
                    var none: Annotations? = nil
                    return evaluator.evaluate(contains, item, &none)
                }
                path.removeLast()
                if itemMatches {
                    matches += 1
                    if annotations != nil { annotations!.containsIndices.insert(position) }
                    // Enough seen, and nothing more to learn: stop looking.
                    if annotations == nil, node.maxContains == nil, matches >= minimum { break }
                }
            }
            if matches < minimum {
                if node.minContains == nil {
                    fail("contains", "no item matches the contains schema")
                } else {
                    fail("minContains", "\(matches) \(matches == 1 ? "item matches" : "items match") the contains schema, fewer than \(minimum)")
                }
                if quick { return false }
                valid = false
            }
            if let maximum = node.maxContains, matches > maximum {
                fail("maxContains", "\(matches) items match the contains schema, more than \(maximum)")
                if quick { return false }
                valid = false
            }
        }
        if node.uniqueItems, array.count > 1 {
            // Positions by hash bucket, each confirmed with the exact equality.
            var seen: [JSONValue: [Int]] = [:]
            seen.reserveCapacity(array.count)
            for (position, item) in array.enumerated() {
                if let earlier = seen[item]?.first(where: { ExactEquality.equal(array[$0], item) }) {
                    fail("uniqueItems", "items \(earlier) and \(position) are equal")
                    if quick { return false }
                    valid = false
                    break
                }
                seen[item, default: []].append(position)
            }
        }
        return valid
    }

    private mutating func unevaluatedItems(_ unevaluated: Int, _ array: [JSONValue], _ annotations: inout Annotations?) -> Bool {
        var valid = true
        let seen = annotations ?? Annotations()
        if !seen.allItems {
            for position in seen.prefixItemCount..<max(seen.prefixItemCount, array.count)
            where !seen.containsIndices.contains(position) {
                path.append(.index(position))
                let itemValid = evaluateApplied(
                    unevaluated, array[position], keyword: "unevaluatedItems", refusal: "item \(position) is not allowed")
                path.removeLast()
                if !itemValid {
                    if quick { return false }
                    valid = false
                }
            }
        }
        if valid, annotations != nil { annotations!.allItems = true }
        return valid
    }

    // MARK: Applicators

    private mutating func applicators(_ node: SchemaNode, _ value: JSONValue, _ annotations: inout Annotations?) -> Bool {
        var valid = true
        for subschema in node.allOf where !evaluate(subschema, value, &annotations) {
            if quick { return false }
            valid = false
        }
        if !node.anyOf.isEmpty {
            var matched = false
            var closest: ValidationFailure?
            for subschema in node.anyOf {
                // Without annotations to collect, the first match settles it.
                if matched && annotations == nil { break }
                var branch: Annotations? = annotations == nil ? nil : Annotations()
                let (branchValid, failure) = trial { $0.evaluate(subschema, value, &branch) }
                if branchValid {
                    matched = true
                    if annotations != nil, let branch { annotations!.merge(branch) }
                } else {
                    closest = Self.closer(closest, failure)
                }
            }
            if !matched {
                fail("anyOf", "\(JSONText.brief(value)) matches none of the \(node.anyOf.count) schemas of anyOf\(Self.hint(closest))")
                if quick { return false }
                valid = false
            }
        }
        if !node.oneOf.isEmpty {
            var matching: [Int] = []
            var matchedAnnotations: Annotations?
            var closest: ValidationFailure?
            for (position, subschema) in node.oneOf.enumerated() {
                var branch: Annotations? = annotations == nil ? nil : Annotations()
                let (branchValid, failure) = trial { $0.evaluate(subschema, value, &branch) }
                if branchValid {
                    matching.append(position)
                    matchedAnnotations = branch
                    if matching.count > 1 { break }
                } else {
                    closest = Self.closer(closest, failure)
                }
            }
            if matching.count == 1 {
                if annotations != nil, let matchedAnnotations { annotations!.merge(matchedAnnotations) }
            } else {
                if matching.isEmpty {
                    fail("oneOf", "\(JSONText.brief(value)) matches none of the \(node.oneOf.count) schemas of oneOf\(Self.hint(closest))")
                } else {
                    fail("oneOf", "\(JSONText.brief(value)) matches schemas \(matching[0]) and \(matching[1]) of oneOf, not exactly one")
                }
                if quick { return false }
                valid = false
            }
        }
        if let not = node.not {
            let (matches, _) = trial { evaluator in
                var none: Annotations? = nil
                return evaluator.evaluate(not, value, &none)
            }
            if matches {
                fail("not", "\(JSONText.brief(value)) must not match the schema of not")
                if quick { return false }
                valid = false
            }
        }
        if let condition = node.ifNode {
            var conditionAnnotations: Annotations? = annotations == nil ? nil : Annotations()
            let (holds, _) = trial { $0.evaluate(condition, value, &conditionAnnotations) }
            if holds, annotations != nil, let conditionAnnotations { annotations!.merge(conditionAnnotations) }
            if let branch = holds ? node.thenNode : node.elseNode, !evaluate(branch, value, &annotations) {
                if quick { return false }
                valid = false
            }
        }
        if !node.dependentSchemas.isEmpty, case .object(let object) = value {
            for (property, subschema) in node.dependentSchemas where object[property] != nil {
                if !evaluate(subschema, value, &annotations) {
                    if quick { return false }
                    valid = false
                }
            }
        }
        return valid
    }

    /// Of two branch failures, the one deeper in the instance: usually the branch that was meant.
    private static func closer(_ a: ValidationFailure?, _ b: ValidationFailure?) -> ValidationFailure? {
        guard let a else { return b }
        guard let b else { return a }
        return b.instancePointer.tokens.count > a.instancePointer.tokens.count ? b : a
    }

    /// `; closest: POINTER: message (keyword)`, always a leaf: a branch failure that is itself
    /// an `anyOf` or `oneOf` passes on its own hint rather than nesting it.
    private static func hint(_ failure: ValidationFailure?) -> String {
        guard let failure else { return "" }
        if failure.keyword == "anyOf" || failure.keyword == "oneOf",
            let range = failure.message.firstRange(of: Self.hintPrefix)
        {
            return String(failure.message[range.lowerBound...])
        }
        return Self.hintPrefix + failure.description
    }

    private static let hintPrefix = "; closest: "
}

extension JSONTypeSet {
    /// "a" or "an", for "is not an object".
    var article: String {
        guard let first = Self.names.first(where: { contains($0.1) }) else { return "a" }
        return "aeiou".contains(first.0.first!) ? "an" : "a"
    }
}
