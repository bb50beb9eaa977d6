import JSONCodec
import JSONPatch

/// A JWS in compact serialization, split and decoded but not yet verified:
/// `BASE64URL(header) "." BASE64URL(claims) "." BASE64URL(signature)`.
public struct SignedToken: Sendable {
    /// `alg`, exactly as the header spells it.
    public let algorithm: String
    /// `kid`, when the header names a key.
    public let keyID: String?
    /// The claims, read (not yet checked against the clock).
    public let claims: TokenClaims
    /// The bytes the signature covers: the first two parts and the dot between them, as sent.
    public let signingInput: [UInt8]
    public let signature: [UInt8]

    /// Longest token accepted: a URL or header beyond this is not a token a portal hands out.
    public static let maximumBytes = 8192

    /// Splits and reads `text`. Throws `.malformed` for the shape and `.invalidClaims` for
    /// claims that are missing or wrong; the signature is checked by `TokenVerifier`.
    public init(parsing text: some StringProtocol) throws(TokenRejection) {
        let bytes = Array(text.utf8)
        guard bytes.count <= Self.maximumBytes else {
            throw TokenRejection(.malformed, "longer than \(Self.maximumBytes) bytes")
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw TokenRejection(.malformed, "expected three parts separated by '.'") }
        guard let headerBytes = Base64URL.decode(parts[0]), let claimBytes = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else {
            throw TokenRejection(.malformed, "a part is not unpadded base64url")
        }
        let header = try Self.object(headerBytes, "header")
        guard let algorithm = header["alg"]?.stringValue else {
            throw TokenRejection(.malformed, "the header has no string \"alg\"")
        }
        var keyID: String?
        if let member = header["kid"] {
            guard let string = member.stringValue else { throw TokenRejection(.malformed, "\"kid\" must be a string") }
            keyID = string
        }
        // A critical extension this verifier does not know must not be ignored (RFC 7515 4.1.11).
        if header["crit"] != nil {
            throw TokenRejection(.malformed, "the header has \"crit\" extensions, none of which are supported")
        }
        self.algorithm = algorithm
        self.keyID = keyID
        self.claims = try TokenClaims(json: Self.object(claimBytes, "claims"))
        self.signingInput = Array(bytes[..<parts[1].endIndex])
        self.signature = signature
    }

    private static func object(_ bytes: [UInt8], _ part: String) throws(TokenRejection) -> JSONObject {
        let value: JSONValue
        do {
            value = try JSONCodec.decode(bytes)
        } catch {
            throw TokenRejection(.malformed, "the \(part) is not JSON")
        }
        guard case .object(let object) = value else {
            throw TokenRejection(.malformed, "the \(part) is \(value.typeName), not an object")
        }
        return object
    }
}
