import Testing

@testable import AccessTokens

struct ParserTests {
    @Test func base64URLRoundTripsAndRejectsNonCanonicalText() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64URL.decode(Array(Base64URL.encode(bytes).utf8)) == bytes)
        }
        #expect(Base64URL.decode(Array("Zg".utf8)) == Array("f".utf8))
        #expect(Base64URL.decode(Array("Zh".utf8)) == nil)  // leftover bits set
        #expect(Base64URL.decode(Array("Zg==".utf8)) == nil)  // padding
        #expect(Base64URL.decode(Array("Z".utf8)) == nil)
        #expect(Base64URL.decode(Array("Z+8/".utf8)) == nil)  // plain base64's alphabet
    }

    @Test func headerAndClaims() throws {
        let token = try SignedToken(parsing: Fixtures.hs256WithKeyID)
        #expect(token.algorithm == "HS256")
        #expect(token.keyID == "plant")
        #expect(token.claims.subject == "line-3 operator")
        #expect(token.signature.count == 32)
        #expect(token.signingInput == Array(Fixtures.hs256WithKeyID.utf8.prefix(token.signingInput.count)))
    }

    @Test(arguments: [
        #"{"sub":"a"}"#, #"{"exp":1}"#, #"{"sub":"","exp":1}"#, #"{"sub":3,"exp":1}"#, #"{"sub":"a","exp":"1"}"#,
        #"{"sub":"a","exp":1,"nbf":"x"}"#, #"{"sub":"a","exp":1,"patchsync":[]}"#,
        #"{"sub":"a","exp":1,"patchsync":{"read":"line-*"}}"#, #"{"sub":"a","exp":1,"patchsync":{"write":[3]}}"#,
        #"{"sub":"a","exp":1,"patchsync":{"admin":"yes"}}"#,
    ])
    func invalidClaims(_ claims: String) {
        #expect(Self.reason(Self.unsigned(claims)) == .invalidClaims)
    }

    @Test(arguments: [
        "", ".", "..", "a.b.c.d", "e30.e30", "!!.e30.", "W10.e30.", #"{"alg":"HS256"}"#,
    ])
    func malformed(_ text: String) {
        #expect(Self.reason(text) == .malformed)
    }

    @Test func criticalExtensionsAreRefused() {
        let header = Base64URL.encode(Array(#"{"alg":"HS256","crit":["b64"],"b64":false}"#.utf8))
        let claims = Base64URL.encode(Array(#"{"sub":"a","exp":1}"#.utf8))
        #expect(throws: TokenRejection.self) { try SignedToken(parsing: "\(header).\(claims).") }
    }

    @Test func fractionalTimesAreCutToSeconds() throws {
        let token = try SignedToken(parsing: Self.unsigned(#"{"sub":"a","exp":1700000000.9,"nbf":1.5}"#))
        #expect(token.claims.expiresAt == 1_700_000_000)
        #expect(token.claims.notBefore == 1)
    }

    static func reason(_ text: String) -> TokenRejection.Reason? {
        do {
            _ = try SignedToken(parsing: text)
            return nil
        } catch {
            return error.reason
        }
    }

    static func unsigned(_ claims: String) -> String {
        Base64URL.encode(Array(#"{"alg":"HS256"}"#.utf8)) + "." + Base64URL.encode(Array(claims.utf8)) + "."
    }
}
