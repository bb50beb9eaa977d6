/// Why a token was refused. The client only ever learns "401"; the reason is for tests and
/// debug logs, and never holds the token itself.
public struct TokenRejection: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable {
        /// Not three base64url parts, or a header or claims object that does not read.
        case malformed
        /// `alg` is `none`, unknown, or not the algorithm of the key it names or any key.
        case algorithmNotAllowed
        /// `kid` names no configured key.
        case unknownKey
        /// No configured key verifies the signature.
        case badSignature
        /// `exp` or `sub` is missing or of the wrong type, or `patchsync` is not as documented.
        case invalidClaims
        /// `exp` (plus the allowed skew) has passed.
        case expired
        /// `nbf` (minus the allowed skew) is still ahead.
        case notYetValid
    }

    public let reason: Reason
    public let detail: String

    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue): \(detail)" }
}
