import JSONPatch

/// A JSON Schema (draft 2020-12), compiled once and then validated against any number of values.
///
/// Compiling resolves every `$ref` within the file, compiles the patterns and builds lookup
/// tables; a keyword the validator does not implement is a compile error, never ignored.
public struct JSONSchema: Sendable {
    public struct Options: Sendable {
        /// Skips keywords the validator does not know instead of refusing the schema. For running
        /// third-party schemas such as the JSON-Schema-Test-Suite's, never for declared types.
        public var ignoresUnknownKeywords: Bool

        public init(ignoresUnknownKeywords: Bool = false) {
            self.ignoresUnknownKeywords = ignoresUnknownKeywords
        }
    }

    let nodes: [SchemaNode]
    /// Always 0; named for readability.
    let root = 0

    /// Compiles a draft 2020-12 schema once: $refs resolved, patterns precompiled, lookup tables.
    public init(compiling schema: JSONValue) throws(SchemaCompileError) {
        try self.init(compiling: schema, options: Options())
    }

    public init(compiling schema: JSONValue, options: Options) throws(SchemaCompileError) {
        var compiler = SchemaCompiler(document: schema, options: options)
        try compiler.compile()
        nodes = compiler.nodes
    }

    /// Every failure; empty when valid.
    public func validate(_ instance: JSONValue) -> [ValidationFailure] {
        var evaluator = Evaluator(nodes: nodes, quick: false)
        var none: Annotations? = nil
        _ = evaluator.evaluate(root, instance, &none)
        return evaluator.failures
    }

    /// Stops at the first failure (the server path).
    public func firstFailure(in instance: JSONValue) -> ValidationFailure? {
        var evaluator = Evaluator(nodes: nodes, quick: true)
        var none: Annotations? = nil
        _ = evaluator.evaluate(root, instance, &none)
        return evaluator.failures.first
    }

    public func isValid(_ instance: JSONValue) -> Bool {
        firstFailure(in: instance) == nil
    }
}
