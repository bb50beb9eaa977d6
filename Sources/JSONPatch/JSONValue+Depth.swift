/// Depth-limited walks: each stops after `JSONLimits.maximumDepth` levels instead of recursing
/// without bound, so hand-built values nested arbitrarily deep cannot overflow the stack.
extension JSONValue {
    /// Whether this value's nesting is deeper than `limit` (scalars have depth 0).
    public func isNested(deeperThan limit: Int) -> Bool {
        switch self {
        case .array(let elements):
            if limit <= 0 { return true }
            return elements.contains { $0.isNested(deeperThan: limit - 1) }
        case .object(let object):
            if limit <= 0 { return true }
            return object.members.values.contains { $0.isNested(deeperThan: limit - 1) }
        default:
            return false
        }
    }

    /// RFC 6902 equality that gives nil instead of walking deeper than `depthBudget` levels.
    func isEqual(to other: JSONValue, depthBudget: Int) -> Bool? {
        switch (self, other) {
        case (.array(let a), .array(let b)):
            if a.count != b.count { return false }
            if a.withUnsafeBufferPointer({ $0.baseAddress }) == b.withUnsafeBufferPointer({ $0.baseAddress }) {
                return true
            }
            if depthBudget <= 0 { return nil }
            for (x, y) in zip(a, b) {
                guard let equal = x.isEqual(to: y, depthBudget: depthBudget - 1) else { return nil }
                if !equal { return false }
            }
            return true
        case (.object(let a), .object(let b)):
            if a.isIdentical(to: b) { return true }
            if a.count != b.count { return false }
            if depthBudget <= 0 { return nil }
            for (key, x) in a.members {
                guard let y = b.members[key] else { return false }
                guard let equal = x.isEqual(to: y, depthBudget: depthBudget - 1) else { return nil }
                if !equal { return false }
            }
            return true
        case (.array, _), (.object, _), (_, .array), (_, .object):
            return false
        default:
            return self == other
        }
    }

    /// An order-independent hash consistent with RFC 6902 equality; nil when nested deeper
    /// than `depthBudget`.
    func boundedDigest(depthBudget: Int) -> Int? {
        var hasher = Hasher()
        switch self {
        case .array(let elements):
            if depthBudget <= 0 { return nil }
            hasher.combine(5)
            hasher.combine(elements.count)
            for element in elements {
                guard let digest = element.boundedDigest(depthBudget: depthBudget - 1) else { return nil }
                hasher.combine(digest)
            }
        case .object(let object):
            if depthBudget <= 0 { return nil }
            var sum = 0
            for (key, value) in object.members {
                guard let digest = value.boundedDigest(depthBudget: depthBudget - 1) else { return nil }
                var member = Hasher()
                member.combine(key)
                member.combine(digest)
                sum &+= member.finalize()
            }
            hasher.combine(6)
            hasher.combine(object.count)
            hasher.combine(sum)
        default:
            hasher.combine(self)
        }
        return hasher.finalize()
    }
}
