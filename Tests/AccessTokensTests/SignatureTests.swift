import Testing

@testable import AccessTokens

/// The three algorithms against published examples, so that libcrypto is driven correctly
/// (ES256's raw r||s turned into DER, Ed25519 without a digest).
struct SignatureTests {
    @Test func hs256FromRFC7515() throws {
        let secret = Base64URL.decode(Array("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow".utf8))!
        let key = try VerificationKey(id: "rfc", bytes: secret)
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        #expect(key.algorithm == .hs256)
        #expect(verifies(key, token))
        #expect(!verifies(key, tampered(token)))
    }

    @Test func es256FromRFC7515() throws {
        let key = try Fixtures.key("rfc", "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV7\n6e8Tus9uPHvRVEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==\n-----END PUBLIC KEY-----\n")
        let token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
        #expect(key.algorithm == .es256)
        #expect(verifies(key, token))
        #expect(!verifies(key, tampered(token)))
    }

    @Test func edDSAFromRFC8037() throws {
        let key = try Fixtures.key("rfc", "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n")
        let token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        #expect(key.algorithm == .edDSA)
        #expect(verifies(key, token))
        #expect(!verifies(key, tampered(token)))
    }

    @Test func wrongLengthSignaturesAreRefused() throws {
        let es = try Fixtures.key("es", Fixtures.p256PEM)
        let hs = try Fixtures.key("hs", secret: Fixtures.secret)
        #expect(!es.verifies([UInt8](repeating: 1, count: 63), of: [1, 2, 3]))
        #expect(!es.verifies([], of: [1, 2, 3]))
        #expect(!hs.verifies([UInt8](repeating: 1, count: 31), of: [1, 2, 3]))
    }

    @Test func privateKeysAndOtherCurvesAreRefused() throws {
        #expect(throws: TokenKeyError.self) {
            try Fixtures.key("private", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIB==\n-----END PRIVATE KEY-----\n")
        }
        #expect(throws: TokenKeyError.self) { try Fixtures.key("broken", "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n") }
        #expect(throws: TokenKeyError.self) { try Fixtures.key("empty", secret: Array("\n".utf8)) }
    }

    @Test func aSecretLosesOneTrailingNewline() throws {
        let fromFile = try VerificationKey(id: "plant", bytes: Fixtures.secret + [0x0A])
        #expect(verifies(fromFile, Fixtures.hs256))
    }

    @Test func keyIDsAreBaseNamesWithoutExtension() {
        #expect(VerificationKey.keyID(forPath: "/etc/patchsync/line-3.pem") == "line-3")
        #expect(VerificationKey.keyID(forPath: "keys/plant.v2.key") == "plant.v2")
        #expect(VerificationKey.keyID(forPath: "secret") == "secret")
        #expect(VerificationKey.keyID(forPath: "dir/.hidden") == ".hidden")
    }

    private func verifies(_ key: VerificationKey, _ token: String) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        let input = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard let signature = Base64URL.decode(Array(parts[2].utf8)) else { return false }
        return key.verifies(signature, of: input)
    }

    /// The token with one character of its payload changed.
    private func tampered(_ token: String) -> String {
        var bytes = Array(token.utf8)
        let index = bytes.firstIndex(of: UInt8(ascii: "."))! + 3
        bytes[index] = bytes[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        return String(decoding: bytes, as: UTF8.self)
    }
}
