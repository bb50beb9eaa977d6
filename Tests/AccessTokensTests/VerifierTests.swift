import Testing

@testable import AccessTokens

struct VerifierTests {
    private func verifier(_ keys: [VerificationKey]) -> TokenVerifier {
        TokenVerifier(keys: TokenKeySet(keys: keys))
    }

    private func reason(_ verifier: TokenVerifier, _ token: String, now: Int64 = Fixtures.now) -> TokenRejection.Reason? {
        do {
            _ = try verifier.verify(token, now: now)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func theThreeAlgorithmsAreAccepted() throws {
        let verifier = verifier([
            try Fixtures.key("plant", secret: Fixtures.secret), try Fixtures.key("ed", Fixtures.edPEM),
            try Fixtures.key("es", Fixtures.p256PEM),
        ])
        for token in [Fixtures.hs256, Fixtures.hs256WithKeyID, Fixtures.edDSA, Fixtures.es256] {
            let claims = try verifier.verify(token, now: Fixtures.now)
            #expect(claims.subject == "line-3 operator")
            #expect(claims.expiresAt == 2_000_000_000)
            #expect(claims.notBefore == 1_700_000_000)
            #expect(claims.read == ["line-*"])
            #expect(claims.write == ["line-3"])
            #expect(!claims.admin)
        }
    }

    @Test func refusals() throws {
        let verifier = verifier([try Fixtures.key("plant", secret: Fixtures.secret), try Fixtures.key("ed", Fixtures.edPEM)])
        #expect(reason(verifier, Fixtures.algorithmNone) == .algorithmNotAllowed)
        #expect(reason(verifier, Fixtures.es256) == .algorithmNotAllowed)  // no ES256 key
        #expect(reason(verifier, Fixtures.withoutSubject) == .invalidClaims)
        #expect(reason(verifier, Fixtures.withoutExpiry) == .invalidClaims)
        #expect(reason(verifier, Fixtures.hs256, now: 2_000_000_031) == .expired)
        #expect(reason(verifier, Fixtures.hs256, now: 2_000_000_030) == nil)  // the skew
        #expect(reason(verifier, Fixtures.hs256, now: 1_699_999_969) == .notYetValid)
        #expect(reason(verifier, Fixtures.hs256, now: 1_699_999_970) == nil)
        #expect(reason(verifier, "") == .malformed)
        #expect(reason(verifier, "a.b") == .malformed)
        #expect(reason(verifier, Fixtures.hs256 + "=") == .malformed)
        var forged = Array(Fixtures.hs256.utf8)
        forged[forged.count - 2] = forged[forged.count - 2] == UInt8(ascii: "8") ? UInt8(ascii: "9") : UInt8(ascii: "8")
        #expect(reason(verifier, String(decoding: forged, as: UTF8.self)) == .badSignature)
    }

    @Test func anHS256TokenIsNeverCheckedWithAPublicKeyAsSecret() throws {
        // The classic confusion: an attacker signs HS256 with the public key's PEM text.
        let verifier = verifier([try Fixtures.key("ed", Fixtures.edPEM)])
        #expect(reason(verifier, Fixtures.hs256) == .algorithmNotAllowed)
    }

    @Test func keyIDsChooseTheKey() throws {
        let other = try Fixtures.key("other", secret: Array("another secret".utf8))
        let plant = try Fixtures.key("plant", secret: Fixtures.secret)
        #expect(reason(verifier([other, plant]), Fixtures.hs256WithKeyID) == nil)
        #expect(reason(verifier([other, plant]), Fixtures.hs256) == nil)  // no kid: every HS256 key
        #expect(reason(verifier([other]), Fixtures.hs256WithKeyID) == .unknownKey)
        let wrongAlgorithm = try Fixtures.key("plant", Fixtures.edPEM)
        #expect(reason(verifier([wrongAlgorithm]), Fixtures.hs256WithKeyID) == .algorithmNotAllowed)
    }

    @Test func verifiedTokensAreCachedUntilTheyExpireAndUntilTheKeysChange() throws {
        let verifier = verifier([try Fixtures.key("ed", Fixtures.edPEM)])
        _ = try verifier.verify(Fixtures.edDSA, now: Fixtures.now)
        _ = try verifier.verify(Fixtures.edDSA, now: Fixtures.now + 1)
        #expect(verifier.cachedCount == 1)
        // A cached token still expires.
        #expect(reason(verifier, Fixtures.edDSA, now: 2_000_000_031) == .expired)
        // A bad token is not cached.
        #expect(reason(verifier, Fixtures.hs256) != nil)
        #expect(verifier.cachedCount == 1)
        // Rotation: the old key's tokens stop working at once.
        verifier.replaceKeys(with: TokenKeySet(keys: [try Fixtures.key("es", Fixtures.p256PEM)]))
        #expect(verifier.cachedCount == 0)
        #expect(reason(verifier, Fixtures.edDSA) == .algorithmNotAllowed)
        #expect(reason(verifier, Fixtures.es256) == nil)
    }

    @Test func theCacheStaysBounded() throws {
        let verifier = TokenVerifier(keys: TokenKeySet(keys: [try Fixtures.key("plant", secret: Fixtures.secret)]), cacheLimit: 1)
        _ = try verifier.verify(Fixtures.hs256, now: Fixtures.now)
        _ = try verifier.verify(Fixtures.hs256WithKeyID, now: Fixtures.now)
        #expect(verifier.cachedCount == 1)
    }
}
