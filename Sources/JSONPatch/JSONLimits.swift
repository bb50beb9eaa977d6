/// Limits that keep every recursive walk over JSON values far from the end of the stack.
public enum JSONLimits {
    /// The deepest nesting of arrays and objects accepted by the codec, apply and diff.
    ///
    /// A scalar has depth 0, `[]` and `{}` depth 1, `[[1]]` depth 2. A JSON Pointer may have at
    /// most this many tokens.
    public static let maximumDepth = 512
}
