import JSONPatch

/// A schema that cannot be compiled: where in the schema document, and why.
public struct SchemaCompileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The schema value at fault (for an unknown keyword, the keyword's member itself).
    public var schemaPointer: JSONPointer
    public var reason: String

    public init(schemaPointer: JSONPointer, reason: String) {
        self.schemaPointer = schemaPointer
        self.reason = reason
    }

    /// `POINTER: reason`, like `ValidationFailure`: the schema's root is the empty pointer.
    public var description: String {
        "\(schemaPointer): \(reason)"
    }
}
