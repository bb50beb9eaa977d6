/// Why a server message cannot be read, naming the message's type (when it could be read) and
/// the member that is wrong.
public struct ServerMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        case invalidJSON(String)
        case notAnObject(found: String)
        /// `type` names no message this release knows: a client ignores such a message.
        case unknownType(String)
        case missingMember(String)
        case wrongType(member: String, expected: String, found: String)
        case invalidMember(member: String, reason: String)
    }

    /// The message's `type`, nil when it could not be read.
    public let type: String?
    public let reason: Reason

    public init(type: String?, _ reason: Reason) {
        self.type = type
        self.reason = reason
    }

    public var description: String {
        let what: String
        switch reason {
        case .invalidJSON(let error): what = "not valid JSON: \(error)"
        case .notAnObject(let found): what = "expected a JSON object, found \(found)"
        case .unknownType(let type): what = "unknown message type \"\(type)\""
        case .missingMember(let member): what = "missing member \"\(member)\""
        case .wrongType(let member, let expected, let found): what = "\(member): expected \(expected), found \(found)"
        case .invalidMember(let member, let reason): what = "\(member): \(reason)"
        }
        return type.map { "\($0): \(what)" } ?? what
    }
}
