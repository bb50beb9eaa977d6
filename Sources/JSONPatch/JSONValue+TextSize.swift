extension JSONValue {
    /// About the length of this value as compact JSON text: exact but for escapes in strings
    /// and reals (counted as 12). Cheap enough to bound documents by size without encoding them.
    public var estimatedTextSize: Int {
        var size = 0
        addEstimatedTextSize(to: &size, limit: .max, depthBudget: JSONLimits.maximumDepth)
        return size
    }

    /// The text size of a member of a non-empty object: the value, its key, the quotes, colon
    /// and comma. (A container's estimate is 1 plus its members', or 2 when empty.)
    public static func estimatedTextSize(ofMember key: String, _ value: JSONValue) -> Int {
        4 + key.utf8.count + value.estimatedTextSize
    }

    /// Adds the estimate to `size`, walking no further once `size` passes `limit`.
    func addEstimatedTextSize(to size: inout Int, limit: Int, depthBudget: Int) {
        guard size <= limit, depthBudget > 0 else { return }
        switch self {
        case .null, .bool(true): size += 4
        case .bool(false): size += 5
        case .integer(let number):
            size += number < 0 ? 2 + Self.digits(number.magnitude) : 1 + Self.digits(number.magnitude)
        case .real: size += 12
        case .string(let text): size += text.utf8.count + 2
        case .array(let elements):
            size += elements.isEmpty ? 2 : 1
            for element in elements {
                size += 1
                element.addEstimatedTextSize(to: &size, limit: limit, depthBudget: depthBudget - 1)
                if size > limit { return }
            }
        case .object(let object):
            size += object.isEmpty ? 2 : 1
            for (key, member) in object {
                size += 4 + key.utf8.count
                member.addEstimatedTextSize(to: &size, limit: limit, depthBudget: depthBudget - 1)
                if size > limit { return }
            }
        }
    }

    private static func digits(_ number: UInt64) -> Int {
        var count = 1
        var rest = number / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        return count
    }
}
