/// Why a JSON Pointer (RFC 6901) could not be parsed or resolved.
public struct JSONPointerError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// Non-empty pointer text that does not start with `/`.
        case missingLeadingSlash
        /// `~` not followed by `0` or `1`.
        case invalidEscape
        /// More tokens than `JSONLimits.maximumDepth`.
        case tooDeep
    }

    public var reason: Reason
    /// The pointer text as given.
    public var pointer: String
    /// The offending token, when one token is at fault.
    public var token: String?

    public init(reason: Reason, pointer: String, token: String? = nil) {
        self.reason = reason
        self.pointer = pointer
        self.token = token
    }

    public var description: String {
        switch reason {
        case .missingLeadingSlash:
            "invalid JSON Pointer \"\(pointer)\": must be empty or start with \"/\""
        case .invalidEscape:
            "invalid JSON Pointer \"\(pointer)\": token \"\(token ?? "")\" has \"~\" not followed by \"0\" or \"1\""
        case .tooDeep:
            "invalid JSON Pointer \"\(pointer)\": more than \(JSONLimits.maximumDepth) tokens"
        }
    }
}
