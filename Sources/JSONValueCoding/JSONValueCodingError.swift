import JSONPatch

/// Why a value could not be turned into a `JSONValue` or read back from one.
///
/// `path` names the place in the value (`row.name`, `todos[3]`), so a client can be told which field is wrong.
public struct JSONValueCodingError: Error, CustomStringConvertible, Hashable {
    public enum Reason: Sendable, Hashable {
        /// The JSON holds another type than the one asked for (a string where a number belongs).
        case typeMismatch
        /// A required object member is absent.
        case missingKey
        /// A number does not fit the Swift type (3.5 into `Int`, 2^64 into `Int64`, NaN into JSON).
        case numberNotRepresentable
        /// The value's own `Codable` code refused it.
        case invalidValue
    }

    public let reason: Reason
    /// Where in the value the problem is, as `a.b[2].c`; empty at the top level.
    public let path: String
    /// The same place as a JSON Pointer (`/a/b/2/c`), when the error came from decoding a `JSONValue`.
    public let pointer: JSONPointer?
    /// What was expected and what was found.
    public let message: String

    public init(reason: Reason, path: String, pointer: JSONPointer? = nil, message: String) {
        self.reason = reason
        self.path = path
        self.pointer = pointer
        self.message = message
    }

    init(reason: Reason, codingPath: [any CodingKey], message: String) {
        self.init(
            reason: reason, path: CodingPathText.render(codingPath),
            pointer: JSONPointer(tokens: codingPath.map(\.stringValue)),
            message: message)
    }

    public var description: String {
        path.isEmpty ? message : "\(path): \(message)"
    }
}

/// Renders a coding path as `row.name` or `todos[3]`.
enum CodingPathText {
    static func render(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue, key is ArrayIndexKey {
                text += "[\(index)]"
            } else {
                if !text.isEmpty { text += "." }
                text += key.stringValue
            }
        }
        return text
    }
}

/// The coding key of an array element.
struct ArrayIndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }

    init(_ index: Int) { intValue = index }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}

/// A key for `superEncoder()`/`superDecoder()`, named as Foundation's coders name it.
struct SuperKey: CodingKey {
    var stringValue: String { "super" }
    var intValue: Int? { nil }
    init() {}
    init?(stringValue: String) { nil }
    init?(intValue: Int) { nil }
}
