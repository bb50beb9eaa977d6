import FuzzSupport
import SyncAPI

@testable import AccessTokens

/// An HS256 key the fuzzer's tokens are checked against (they are never validly signed by it
/// unless the fuzzer finds an HMAC collision).
private let verifier = TokenVerifier(
    keys: TokenKeySet(keys: [try! VerificationKey(id: "fuzz", bytes: Array("fuzz-secret".utf8))]))

/// Any text as a signed token: splitting, base64url and the JOSE header and claims never crash;
/// what parses keeps its promises (the signed input is the text up to the second dot, the claims
/// are within their bounds); base64url round-trips; a glob made of the input never hangs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)

    let encoded = Base64URL.encode(bytes)
    expect(Base64URL.decode(Array(encoded.utf8)) == bytes, "base64url does not round-trip")
    if let decoded = Base64URL.decode(bytes) {
        expect(Base64URL.encode(decoded) == text, "decoding accepted a non-canonical spelling")
    }

    if let token = try? SignedToken(parsing: text) {
        let utf8 = Array(text.utf8)
        expect(utf8.starts(with: token.signingInput), "the signing input is not a prefix of the token")
        expect(token.signingInput.filter { $0 == UInt8(ascii: ".") }.count == 1, "the signing input is not two parts")
        expect(!token.claims.subject.isEmpty, "an empty sub was accepted")
        expect(token.claims.subject.utf8.count <= TokenClaims.maximumSubjectBytes, "an over-long sub was accepted")
        expect(token.claims.read.count + token.claims.write.count <= TokenClaims.maximumPatterns, "too many patterns")
    }
    if let claims = try? verifier.verify(text, now: 1_800_000_000) {
        fatalError("a token the fuzzer made was accepted: \(claims)")
    }

    // The first byte splits the rest into a pattern and a name.
    if let first = bytes.first {
        let rest = String(decoding: bytes.dropFirst(), as: UTF8.self)
        let cut = rest.index(rest.startIndex, offsetBy: min(Int(first) % 64, rest.count))
        let pattern = DocumentPattern(String(rest[..<cut]))
        _ = pattern.matches(String(rest[cut...]))
        expect(DocumentPattern("*").matches(String(rest[cut...])), "* must match everything")
    }
    return 0
}
