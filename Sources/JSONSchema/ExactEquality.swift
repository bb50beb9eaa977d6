import JSONPatch

/// JSON Schema's equality for `const`, `enum` and `uniqueItems`: `JSONValue`'s own (numbers by
/// value, `1 == 1.0`, `true != 1`), except that strings compare code point by code point. Swift's
/// `String ==` treats canonically equivalent strings as equal (`"ñ"` and `"n\u{303}"`), which the
/// JSON Schema test suite requires to differ.
enum ExactEquality {
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)):
            return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (key, value) in x {
                guard let other = y[key], equal(value, other) else { return false }
            }
            return true
        default:
            return a == b
        }
    }
}

/// The values of an `enum`, looked up by hash and confirmed with `ExactEquality`.
struct EnumLookup: @unchecked Sendable {
    let values: [JSONValue]
    /// Positions in `values` by hash bucket; only built for long lists.
    private let positions: [JSONValue: [Int]]?

    init(_ values: [JSONValue]) {
        self.values = values
        if values.count > 8 {
            var positions: [JSONValue: [Int]] = [:]
            for (position, value) in values.enumerated() { positions[value, default: []].append(position) }
            self.positions = positions
        } else {
            positions = nil
        }
    }

    func contains(_ value: JSONValue) -> Bool {
        guard let positions else { return values.contains { ExactEquality.equal($0, value) } }
        return positions[value]?.contains { ExactEquality.equal(values[$0], value) } ?? false
    }
}
