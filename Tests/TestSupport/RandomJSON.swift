import JSONPatch

/// Random JSON values and edits of them, drawn from small pools so that pairs share structure.
public struct RandomJSON {
    public var generator: SeededGenerator

    public init(seed: UInt64) {
        generator = SeededGenerator(seed: seed)
    }

    /// Keys that need escaping in pointers, the empty key, unicode, and look-alike indices.
    public static let keys = ["a", "b", "c", "", "/", "~", "~1", "a/b", "m~n", "0", "01", "-", "é", "日本", "🙂", "x y"]
    public static let strings = ["", "x", "hello", "a\"b", "back\\slash", "line\nbreak", "nul\u{0}", "日本語", "🙂"]
    public static let integers: [Int64] = [0, 1, -1, 2, 42, Int64.max, Int64.min, Int64.max - 1, 1 << 53]
    public static let reals: [Double] = [0.5, -2.25, 1e-300, 1.7976931348623157e308, 3.0, 0.1]

    public mutating func int(_ range: Range<Int>) -> Int {
        Int.random(in: range, using: &generator)
    }

    public mutating func chance(_ percent: Int) -> Bool {
        int(0..<100) < percent
    }

    public mutating func key() -> String {
        Self.keys[int(0..<Self.keys.count)]
    }

    public mutating func scalar() -> JSONValue {
        switch int(0..<6) {
        case 0: .null
        case 1: .bool(chance(50))
        case 2: .integer(Self.integers[int(0..<Self.integers.count)])
        case 3: .real(Self.reals[int(0..<Self.reals.count)])
        default: .string(Self.strings[int(0..<Self.strings.count)])
        }
    }

    public mutating func value(depth: Int = 4) -> JSONValue {
        guard depth > 0, chance(60) else { return scalar() }
        if chance(50) {
            var elements: [JSONValue] = []
            for _ in 0..<int(0..<6) { elements.append(value(depth: depth - 1)) }
            return .array(elements)
        }
        var object = JSONObject()
        for _ in 0..<int(0..<6) { object[key()] = value(depth: depth - 1) }
        return .object(object)
    }

    /// A copy of `value` with a few random edits, made through the mutating API so that the
    /// copy shares storage with the original where it was not edited.
    public mutating func edited(_ value: JSONValue, depth: Int = 4) -> JSONValue {
        switch value {
        case .array(var elements):
            for _ in 0..<int(1..<4) {
                switch int(0..<5) {
                case 0: elements.insert(self.value(depth: depth - 1), at: int(0..<(elements.count + 1)))
                case 1 where !elements.isEmpty: elements.remove(at: int(0..<elements.count))
                case 2 where !elements.isEmpty:
                    let index = int(0..<elements.count)
                    elements[index] = edited(elements[index], depth: depth - 1)
                case 3 where elements.count > 1:
                    let moved = elements.remove(at: int(0..<elements.count))
                    elements.insert(moved, at: int(0..<(elements.count + 1)))
                default: break
                }
            }
            return .array(elements)
        case .object(var object):
            for _ in 0..<int(1..<4) {
                let key = chance(70) && !object.isEmpty ? object.keys[int(0..<object.count)] : self.key()
                switch int(0..<4) {
                case 0: object[key] = self.value(depth: depth - 1)
                case 1: object.removeValue(forKey: key)
                case 2:
                    if let member = object[key] { object[self.key()] = member; object.removeValue(forKey: key) }
                default:
                    object.modifyValue(forKey: key) { member in
                        if let current = member { member = edited(current, depth: depth - 1) }
                    }
                }
            }
            return .object(object)
        default:
            return chance(50) ? scalar() : self.value(depth: depth)
        }
    }
}
