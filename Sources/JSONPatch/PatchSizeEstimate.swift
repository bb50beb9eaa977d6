/// The approximate length of operations as compact JSON text, to choose the smaller of two
/// candidate patches without encoding them.
enum PatchSizeEstimate {
    static func of(_ operations: ArraySlice<PatchOperation>) -> Int {
        operations.reduce(0) { total, operation in total + of(operation, upTo: .max) }
    }

    /// The estimate for one operation, or some number above `limit` once it is known to be
    /// larger: values are walked only that far.
    static func of(_ operation: PatchOperation, upTo limit: Int) -> Int {
        // {"op":"replace","path":"","value":} and the separating comma.
        var size = 30
        switch operation {
        case .add(let path, let value), .replace(let path, let value), .test(let path, let value):
            size += of(path)
            add(value, to: &size, limit: limit, depthBudget: JSONLimits.maximumDepth)
        case .remove(let path):
            size += of(path)
        case .move(let from, let path), .copy(let from, let path):
            size += of(from) + of(path)
        }
        return size
    }

    private static func of(_ pointer: JSONPointer) -> Int {
        pointer.tokens.reduce(0) { $0 + 1 + $1.utf8.count }
    }

    private static func add(_ value: JSONValue, to size: inout Int, limit: Int, depthBudget: Int) {
        guard size <= limit, depthBudget > 0 else { return }
        switch value {
        case .null, .bool: size += 5
        case .integer(let number): size += number < 0 ? 2 + digits(number.magnitude) : 1 + digits(number.magnitude)
        case .real: size += 12
        case .string(let text): size += text.utf8.count + 2
        case .array(let elements):
            size += 1
            for element in elements {
                size += 1
                add(element, to: &size, limit: limit, depthBudget: depthBudget - 1)
                if size > limit { return }
            }
        case .object(let object):
            size += 1
            for (key, member) in object {
                size += 4 + key.utf8.count
                add(member, to: &size, limit: limit, depthBudget: depthBudget - 1)
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
