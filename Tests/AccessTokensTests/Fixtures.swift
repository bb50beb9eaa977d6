@testable import AccessTokens

/// Keys and tokens made once with PyJWT (claims: sub "line-3 operator", exp 2000000000,
/// nbf 1700000000, read ["line-*"], write ["line-3"]), and the examples of RFC 7515 and RFC 8037.
enum Fixtures {
    static let secret = Array("hs-secret-for-tests".utf8)
    static let edPEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAL7oDss4/oN7vZmBr/7sJ7oImmGvKLIvGIv/fH7WLywk=\n-----END PUBLIC KEY-----\n"
    static let p256PEM = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE5+pap0Whig2W7TmnociC0PFvWyDY\n9KiGBNTJEi04IU5barKmslPDVjCBRoE2lDAkcq58Dpkb3rz84+ZFtXTOiA==\n-----END PUBLIC KEY-----\n"

    static let hs256 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsaW5lLTMgb3BlcmF0b3IiLCJleHAiOjIwMDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwicGF0Y2hzeW5jIjp7InJlYWQiOlsibGluZS0qIl0sIndyaXRlIjpbImxpbmUtMyJdfX0.SG-MJ3Xq6GvKlD_pwABXwdxwbmy84iaOmAZWJPA4p8E"
    static let hs256WithKeyID = "eyJhbGciOiJIUzI1NiIsImtpZCI6InBsYW50IiwidHlwIjoiSldUIn0.eyJzdWIiOiJsaW5lLTMgb3BlcmF0b3IiLCJleHAiOjIwMDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwicGF0Y2hzeW5jIjp7InJlYWQiOlsibGluZS0qIl0sIndyaXRlIjpbImxpbmUtMyJdfX0.odTXnZ0oUm1h7LVo5rExA-qjo38e12SK0BRi13mKADg"
    static let edDSA = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsaW5lLTMgb3BlcmF0b3IiLCJleHAiOjIwMDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwicGF0Y2hzeW5jIjp7InJlYWQiOlsibGluZS0qIl0sIndyaXRlIjpbImxpbmUtMyJdfX0._9tOLQvIMzC7SdJOSdvkFnNKPJQOQ73SzocdtiOw73y9ybmzklWiQVZv1F5g1Zu1m3R8-5N1Bf1Lw29ZWmDVBw"
    static let es256 = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsaW5lLTMgb3BlcmF0b3IiLCJleHAiOjIwMDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwicGF0Y2hzeW5jIjp7InJlYWQiOlsibGluZS0qIl0sIndyaXRlIjpbImxpbmUtMyJdfX0.9nXfd0sDWPMq4oCHHvvCHtS3KRnRNr9CaN__qoxT3BeGz7BleC_6MJjL_kbrfiV1VC48Bp1yHU_-UWabK2DDng"
    static let withoutSubject = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjIwMDAwMDAwMDB9.Zv66a-nEtObf3cM9ErIkDiLFnR7d9fhiGrmQLjU1K6A"
    static let withoutExpiry = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.1viYBdwHokFygaKcKGX74pDC_81PAA6KgT6VQAObLOk"
    static let algorithmNone = "eyJhbGciOiAibm9uZSJ9.eyJzdWIiOiAibGluZS0zIG9wZXJhdG9yIiwgImV4cCI6IDIwMDAwMDAwMDAsICJuYmYiOiAxNzAwMDAwMDAwLCAicGF0Y2hzeW5jIjogeyJyZWFkIjogWyJsaW5lLSoiXSwgIndyaXRlIjogWyJsaW5lLTMiXX19."

    /// A moment inside every fixture token's lifetime.
    static let now: Int64 = 1_800_000_000

    static func key(_ id: String, _ text: String) throws -> VerificationKey {
        try VerificationKey(id: id, bytes: Array(text.utf8))
    }

    static func key(_ id: String, secret: [UInt8]) throws -> VerificationKey {
        try VerificationKey(id: id, bytes: secret)
    }
}
