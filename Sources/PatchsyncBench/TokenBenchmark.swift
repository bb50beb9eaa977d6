import AccessTokens
import Glibc

/// `PatchsyncBench tokens [--iterations N]`: what checking a signed token costs an upgrade, per
/// algorithm: the first check of a token (parse, signature through libcrypto, claims) and a
/// repeat of the same token (served from the cache of verified tokens). The tokens and keys are
/// fixed ones (made with PyJWT; claims as in docs/access.md), checked at a moment inside their
/// lifetime. Times are the thread's CPU time, so that other processes on a loaded box do not count.
enum TokenBenchmark {
    static let now: Int64 = 1_800_000_000
    static let secret = Array("hs-secret-for-tests".utf8)
    static let edPEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAL7oDss4/oN7vZmBr/7sJ7oImmGvKLIvGIv/fH7WLywk=\n-----END PUBLIC KEY-----\n"
    static let p256PEM = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE5+pap0Whig2W7TmnociC0PFvWyDY\n9KiGBNTJEi04IU5barKmslPDVjCBRoE2lDAkcq58Dpkb3rz84+ZFtXTOiA==\n-----END PUBLIC KEY-----\n"
    static let claims = "eyJzdWIiOiJsaW5lLTMgb3BlcmF0b3IiLCJleHAiOjIwMDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwicGF0Y2hzeW5jIjp7InJlYWQiOlsibGluZS0qIl0sIndyaXRlIjpbImxpbmUtMyJdfX0"
    static let tokens: [(String, String)] = [
        ("HS256", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\(claims).SG-MJ3Xq6GvKlD_pwABXwdxwbmy84iaOmAZWJPA4p8E"),
        ("EdDSA", "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.\(claims)._9tOLQvIMzC7SdJOSdvkFnNKPJQOQ73SzocdtiOw73y9ybmzklWiQVZv1F5g1Zu1m3R8-5N1Bf1Lw29ZWmDVBw"),
        ("ES256", "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.\(claims).9nXfd0sDWPMq4oCHHvvCHtS3KRnRNr9CaN__qoxT3BeGz7BleC_6MJjL_kbrfiV1VC48Bp1yHU_-UWabK2DDng"),
    ]

    static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    static func main(arguments: ArraySlice<String>) -> Int32 {
        var iterations = 2000
        if let index = arguments.firstIndex(of: "--iterations"), index + 1 < arguments.endIndex,
            let value = Int(arguments[index + 1]), value > 0
        {
            iterations = value
        }
        let keys: TokenKeySet
        do {
            keys = TokenKeySet(keys: [
                try VerificationKey(id: "plant", bytes: secret), try VerificationKey(id: "portal", bytes: Array(edPEM.utf8)),
                try VerificationKey(id: "line", bytes: Array(p256PEM.utf8)),
            ])
        } catch {
            print("cannot read the benchmark's keys: \(error)")
            return 1
        }
        print("signed token checks, \(iterations) each (µs of thread CPU per check, best of 3 rounds)")
        print(padded("algorithm", 12) + padded("first check", 14) + "cached")
        for (algorithm, token) in tokens {
            var first = Double.infinity
            var cached = Double.infinity
            for _ in 0..<3 {
                // A verifier per check: nothing cached, as for a token never seen before.
                var start = threadCPUSeconds()
                for _ in 0..<iterations {
                    guard (try? TokenVerifier(keys: keys).verify(token, now: now)) != nil else {
                        print("\(algorithm): the token was refused")
                        return 1
                    }
                }
                first = min(first, (threadCPUSeconds() - start) / Double(iterations) * 1e6)
                let verifier = TokenVerifier(keys: keys)
                _ = try? verifier.verify(token, now: now)
                start = threadCPUSeconds()
                for _ in 0..<iterations {
                    guard (try? verifier.verify(token, now: now)) != nil else { return 1 }
                }
                cached = min(cached, (threadCPUSeconds() - start) / Double(iterations) * 1e6)
            }
            print(padded(algorithm, 12) + padded(formatted(first), 14) + formatted(cached, digits: 2))
        }
        return 0
    }
}
