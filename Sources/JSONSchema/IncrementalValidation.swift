import JSONPatch

extension JSONSchema {
    /// The first failure of `instance`, the result of applying `operations` to a document that
    /// was valid, checking only what the operations can have affected. The server's path.
    public func firstFailure(in instance: JSONValue, after operations: [PatchOperation]) -> ValidationFailure? {
        firstFailure(in: instance, changedPaths: Self.changedPaths(of: operations, in: instance))
    }

    /// The first failure of `instance`, checking only what a change at `changedPaths` can have
    /// affected, on the premise that the instance was valid before the change.
    ///
    /// Walks from the root along each changed path. At each level it checks the keywords that
    /// look at the value's own size and names (`type`, `required`, `min/maxProperties`,
    /// `min/maxItems`, `dependentRequired`, `propertyNames` of the changed member) and follows
    /// only the member or item on the path; the changed value itself is validated in full. A
    /// subschema with a keyword whose outcome depends on the whole value (`enum`, `const`,
    /// `anyOf`, `oneOf`, `not`, `if`, `dependentSchemas`, `contains`, `uniqueItems`,
    /// `prefixItems`, `unevaluated*`) is validated in full at that level instead, so the answer
    /// (valid or not) always equals a full validation's.
    ///
    /// The paths must name locations of `instance` itself: an item index that a later insertion
    /// or removal shifted is wrong. `changedPaths(of:in:)` gives paths that are right.
    public func firstFailure(in instance: JSONValue, changedPaths: [JSONPointer]) -> ValidationFailure? {
        var walk = IncrementalWalk(evaluator: Evaluator(nodes: nodes, quick: true))
        for path in Self.outermost(changedPaths) {
            if !walk.check(root, instance, path.tokens[...]) {
                return walk.evaluator.failures.first
            }
        }
        return nil
    }

    /// The locations of `result` (the document after `operations`) that the operations may have
    /// changed: every operation's `path` and a `move`'s `from`, but never `test`.
    ///
    /// An insertion or removal in an array shifts the items after it, so in a patch of several
    /// operations another operation's index may no longer name the item it changed: there, an
    /// operation that inserts or removes an array item stands for the whole array (whose
    /// validation then covers every shifted item). A lone operation keeps its item path; an
    /// append (`-`) names the last item.
    public static func changedPaths(of operations: [PatchOperation], in result: JSONValue) -> [JSONPointer] {
        let changing = operations.filter { if case .test = $0 { false } else { true } }
        var paths: [JSONPointer] = []
        for operation in changing {
            switch operation {
            case .test:
                continue
            case .replace(let path, _):
                paths.append(path)
            case .add(let path, _), .copy(_, let path):
                paths.append(itemPath(path, in: result, alone: changing.count == 1))
            case .remove(let path):
                paths.append(itemPath(path, in: result, alone: changing.count == 1))
            case .move(let from, let path):
                paths.append(itemPath(from, in: result, alone: changing.count == 1))
                paths.append(itemPath(path, in: result, alone: changing.count == 1))
            }
        }
        return paths
    }

    /// `path` if its parent is not an array of `result`; else the item (a lone operation) or
    /// the array (an operation among others, whose indices it may shift).
    private static func itemPath(_ path: JSONPointer, in result: JSONValue, alone: Bool) -> JSONPointer {
        guard let last = path.tokens.last else { return path }
        let parent = JSONPointer(tokens: Array(path.tokens.dropLast()))
        guard case .array(let array)? = value(at: parent, in: result) else { return path }
        guard alone else { return parent }
        if last == "-" {
            return array.isEmpty ? parent : parent.appending(index: array.count - 1)
        }
        return path
    }

    private static func value(at pointer: JSONPointer, in document: JSONValue) -> JSONValue? {
        var current = document
        for token in pointer.tokens {
            switch current {
            case .object(let object):
                guard let member = object[token] else { return nil }
                current = member
            case .array(let array):
                guard let position = IncrementalWalk.arrayIndex(token), array.indices.contains(position) else { return nil }
                current = array[position]
            default:
                return nil
            }
        }
        return current
    }

    /// Paths not inside another of the list (`/a` covers `/a/b`), without repeats.
    static func outermost(_ paths: [JSONPointer]) -> [JSONPointer] {
        let sorted = paths.sorted { $0.tokens.count < $1.tokens.count }
        var kept: [JSONPointer] = []
        for path in sorted where !kept.contains(where: { path.hasPrefix($0) }) {
            kept.append(path)
        }
        return kept
    }
}

extension SchemaNode {
    /// Whether every keyword of the node can be checked by looking at the value's own size and
    /// names plus the one member or item on a changed path.
    var checksAlongPath: Bool {
        constant == nil && enumValues == nil && constValue == nil && anyOf.isEmpty && oneOf.isEmpty
            && not == nil && ifNode == nil && dependentSchemas.isEmpty && unevaluatedProperties == nil
            && unevaluatedItems == nil && contains == nil && !uniqueItems && prefixItems.isEmpty
    }
}

/// The walk of `firstFailure(in:changedPaths:)`.
struct IncrementalWalk {
    var evaluator: Evaluator

    /// Whether `value` still satisfies the node after a change at `remaining` below it.
    mutating func check(_ index: Int, _ value: JSONValue, _ remaining: ArraySlice<String>) -> Bool {
        let node = evaluator.nodes[index]
        guard let token = remaining.first, node.checksAlongPath else {
            return fullCheck(index, value)
        }
        if let reference = node.reference, !check(reference, value, remaining) { return false }
        for subschema in node.allOf where !check(subschema, value, remaining) { return false }
        guard evaluator.typeKeyword(node, value) else { return false }
        switch value {
        case .object(let object):
            return checkObject(node, object, token, remaining.dropFirst())
        case .array(let array):
            guard let position = Self.arrayIndex(token) else { return fullCheck(index, value) }
            return checkArray(node, array, position, remaining.dropFirst())
        default:
            // The path no longer exists below a scalar: its own keywords are all there is.
            return fullCheck(index, value)
        }
    }

    private mutating func checkObject(
        _ node: SchemaNode, _ object: JSONObject, _ key: String, _ rest: ArraySlice<String>
    ) -> Bool {
        guard evaluator.objectShapeKeywords(node, object) else { return false }
        guard let member = object[key] else { return true }
        evaluator.path.append(.key(key))
        defer { evaluator.path.removeLast() }
        var evaluated = false
        if let propertyNode = node.properties[key] {
            evaluated = true
            if !checkApplied(propertyNode, member, rest, keyword: "properties", refusal: "property \(JSONText.quoted(key)) is not allowed") {
                return false
            }
        }
        for (pattern, patternNode) in node.patternProperties where pattern.matches(key) {
            evaluated = true
            if !checkApplied(
                patternNode, member, rest, keyword: "patternProperties",
                refusal: "property \(JSONText.quoted(key)) is not allowed (it matches \(JSONText.quoted(pattern.source)))")
            {
                return false
            }
        }
        if !evaluated, let additional = node.additionalProperties,
            !checkApplied(additional, member, rest, keyword: "additionalProperties", refusal: "property \(JSONText.quoted(key)) is not allowed")
        {
            return false
        }
        if let names = node.propertyNames {
            // The same words as the full evaluation: a changed member's name is checked in full.
            return evaluator.memberNameKeyword(names, key)
        }
        return true
    }

    private mutating func checkArray(
        _ node: SchemaNode, _ array: [JSONValue], _ position: Int, _ rest: ArraySlice<String>
    ) -> Bool {
        guard evaluator.arrayShapeKeywords(node, array) else { return false }
        // An insertion or removal shifts the items after it, which is harmless: without
        // `prefixItems` every item has the same schema.
        guard let items = node.items, array.indices.contains(position) else { return true }
        evaluator.path.append(.index(position))
        defer { evaluator.path.removeLast() }
        return checkApplied(items, array[position], rest, keyword: "items", refusal: "item \(position) is not allowed")
    }

    /// A member's or item's subschema: `false` refuses it in the applying keyword's words.
    private mutating func checkApplied(
        _ index: Int, _ value: JSONValue, _ rest: ArraySlice<String>, keyword: String, refusal: @autoclosure () -> String
    ) -> Bool {
        if evaluator.nodes[index].constant == false {
            evaluator.fail(keyword, refusal())
            return false
        }
        return check(index, value, rest)
    }

    /// The full evaluation of one node against one value, at the current path.
    private mutating func fullCheck(_ index: Int, _ value: JSONValue) -> Bool {
        var none: Annotations? = nil
        return evaluator.evaluate(index, value, &none)
    }

    /// An RFC 6901 array index (`0` or digits without a leading zero); nil for `-` and others.
    static func arrayIndex(_ token: String) -> Int? {
        let utf8 = token.utf8
        guard let first = utf8.first, utf8.count <= 18 else { return nil }
        if first == UInt8(ascii: "0") { return utf8.count == 1 ? 0 : nil }
        var value = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
