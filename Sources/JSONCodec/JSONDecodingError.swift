/// Why JSON text could not be decoded, and where (jansson's 1-based line and column, and byte
/// position).
public struct JSONDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// Not JSON: bad token, premature end, trailing data and the like.
        case syntax
        /// An integer outside Int64 or a number such as `1e400` that overflows a double.
        case numberOutOfRange
        /// Bytes that are not valid UTF-8.
        case invalidUTF8
        /// The same key twice in one object (rejected: which one wins is ambiguous).
        case duplicateKey
        /// `\u0000` in an object key: jansson keeps keys as C strings and cannot hold it
        /// (it is accepted in string values).
        case nulInKey
        /// Arrays and objects nested deeper than `JSONLimits.maximumDepth`.
        case tooDeep
    }

    public var reason: Reason
    public var line: Int
    public var column: Int
    /// Byte offset into the input.
    public var position: Int
    public var message: String

    public init(reason: Reason, line: Int, column: Int, position: Int, message: String) {
        self.reason = reason
        self.line = line
        self.column = column
        self.position = position
        self.message = message
    }

    public var description: String {
        "invalid JSON at line \(line), column \(column) (byte \(position)): \(message)"
    }
}
