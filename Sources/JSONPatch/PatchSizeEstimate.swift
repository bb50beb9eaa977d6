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
            value.addEstimatedTextSize(to: &size, limit: limit, depthBudget: JSONLimits.maximumDepth)
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
}
