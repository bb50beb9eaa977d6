import JSONPatch

/// One failed assertion: where in the instance, which keyword, and why in words.
public struct ValidationFailure: Sendable, Hashable, CustomStringConvertible {
    /// The failing value (for `required`, the object that lacks the member).
    public var instancePointer: JSONPointer
    /// The innermost failing assertion (`required` inside a `then`, not `then` or `$ref`).
    public var keyword: String
    /// Starts with the failing value where that reads naturally: `"jammed" is not one of "run"`.
    public var message: String

    public init(instancePointer: JSONPointer, keyword: String, message: String) {
        self.instancePointer = instancePointer
        self.keyword = keyword
        self.message = message
    }

    /// `POINTER: message (keyword)`. The text up to the first `: ` is always the JSON Pointer
    /// (the protocol's `invalid_patch` promises it), so a failure at the root, whose pointer is
    /// empty, starts with `: `.
    public var description: String {
        "\(instancePointer): \(message) (\(keyword))"
    }
}
