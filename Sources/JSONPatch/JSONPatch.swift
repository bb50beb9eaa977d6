/// An RFC 6902 JSON Patch: operations applied in order, all or nothing.
public struct JSONPatch: Hashable, Sendable {
    public var operations: [PatchOperation]

    public init(_ operations: [PatchOperation]) {
        self.operations = operations
    }

    /// Parses an RFC 6902 patch document: an array of operation objects.
    public init(json: JSONValue) throws(JSONPatchError) {
        guard case .array(let elements) = json else {
            throw JSONPatchError(.malformedPatch, message: "a patch must be an array, not \(json.typeName)")
        }
        var operations: [PatchOperation] = []
        operations.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            do {
                operations.append(try PatchOperation(json: element))
            } catch {
                throw error.at(operation: index, named: element["op"]?.stringValue)
            }
        }
        self.operations = operations
    }

    /// The patch document: an array of operation objects.
    public var jsonValue: JSONValue {
        .array(operations.map(\.jsonValue))
    }

    public var isEmpty: Bool { operations.isEmpty }
}
