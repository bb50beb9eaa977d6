import AccessTokens
import SyncAPI
import SyncEngine
import Testing

@testable import SyncServer

@Suite struct WebSocketRouteTests {
    @Test func plainWsIsTheDefaultDocument() throws {
        #expect(try WebSocketRoute.document(forPath: "/ws").get() == .default)
        #expect(try WebSocketRoute.document(forPath: "/ws/line-3_b").get().rawValue == "line-3_b")
        #expect(try WebSocketRoute.document(forPath: "/ws/line-3_b/").get().rawValue == "line-3_b")
    }

    @Test func badNamesAndOtherPathsAreRefused() {
        #expect(WebSocketRoute.document(forPath: "/ws/bad.name") == .failure(.invalidDocumentName("bad.name")))
        #expect(WebSocketRoute.document(forPath: "/ws/a/b") == .failure(.invalidDocumentName("a/b")))
        #expect(WebSocketRoute.document(forPath: "/ws/a//") == .failure(.invalidDocumentName("a/")))
        #expect(WebSocketRoute.document(forPath: "/socket") == .failure(.notAWebSocketPath))
    }

    @Test func sinceMustBeAVersion() {
        #expect(WebSocketRoute.since(nil) == .success(nil))
        #expect(WebSocketRoute.since("42") == .success(42))
        #expect(WebSocketRoute.since("-1") == .failure(.invalidSince("-1")))
        #expect(WebSocketRoute.since("1e3") == .failure(.invalidSince("1e3")))
        #expect(WebSocketRoute.since("+2") == .failure(.invalidSince("+2")))
        #expect(WebSocketRoute.since("") == .failure(.invalidSince("")))
    }
}

@Suite struct OriginPolicyTests {
    @Test func withoutAListOnlyTheRequestsOwnHostIsAllowed() {
        let policy = OriginPolicy(allowedOrigins: [])
        #expect(policy.allows(origin: nil, host: "box:3333"))
        #expect(policy.allows(origin: "http://box:3333", host: "box:3333"))
        #expect(policy.allows(origin: "https://BOX", host: "box"))
        // A proxy passing Host without the port still matches on the host name.
        #expect(policy.allows(origin: "https://box:8443", host: "box"))
        #expect(!policy.allows(origin: "http://evil:3333", host: "box:3333"))
        #expect(!policy.allows(origin: "http://box:4444", host: "box:3333"))
        #expect(!policy.allows(origin: "null", host: "box:3333"))
        #expect(!policy.allows(origin: "http://box:3333", host: nil))
    }

    @Test func aListReplacesTheDefault() {
        let policy = OriginPolicy(allowedOrigins: ["https://panel.example/"])
        #expect(policy.allows(origin: "https://panel.example", host: "box"))
        #expect(!policy.allows(origin: "https://box", host: "box"))
        #expect(!policy.allows(origin: "https://panel.example.evil", host: "box"))
        #expect(OriginPolicy(allowedOrigins: ["*"]).allows(origin: "http://anything", host: "box"))
    }
}

@Suite struct AccessPolicyTests {
    @Test func withoutTokensEveryoneEdits() {
        #expect(AccessPolicy(credentials: .init()).access(presented: nil, now: 0) == .everything)
    }

    @Test func tokensPickTheRole() {
        let policy = AccessPolicy(credentials: .init(token: "edit", readToken: "read"))
        #expect(policy.access(presented: "edit", now: 0) == .everything)
        #expect(policy.access(presented: "read", now: 0) == .readEverything)
        #expect(policy.access(presented: nil, now: 0) == nil)
        #expect(policy.access(presented: "edi", now: 0) == nil)
        #expect(policy.access(presented: "edit2", now: 0) == nil)
    }

    @Test func signedTokensComeAfterTheStaticOnesAndGrantWhatTheirClaimsSay() throws {
        // Claims: sub "line-3 operator", exp 2000000000, nbf 1700000000, read ["line-*"], write ["line-3"].
        let token =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsaW5lLTMgb3BlcmF0b3IiLCJleHAiOjIwMDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwicGF0Y2hzeW5jIjp7InJlYWQiOlsibGluZS0qIl0sIndyaXRlIjpbImxpbmUtMyJdfX0.SG-MJ3Xq6GvKlD_pwABXwdxwbmy84iaOmAZWJPA4p8E"
        let verifier = TokenVerifier(
            keys: TokenKeySet(keys: [try VerificationKey(id: "plant", bytes: Array("hs-secret-for-tests".utf8))]))
        let policy = AccessPolicy(credentials: .init(token: "edit", readToken: "read", tokenVerifier: verifier))
        let access = try #require(policy.access(presented: token, now: 1_800_000_000))
        #expect(access.author == "line-3 operator")
        #expect(access.expiresAt == 2_000_000_000)
        #expect(access.role(on: DocumentName("line-3")!) == .editor)
        #expect(access.role(on: DocumentName("line-4")!) == .viewer)
        #expect(access.role(on: DocumentName("office")!) == nil)
        #expect(policy.access(presented: token, now: 2_000_000_031) == nil)
        #expect(policy.access(presented: "edit", now: 0) == .everything)
        #expect(policy.access(presented: "read", now: 0) == .readEverything)
        #expect(policy.access(presented: "x.y.z", now: 0) == nil)
        // Signed tokens alone make credentials required.
        #expect(AccessPolicy(credentials: .init(tokenVerifier: verifier)).access(presented: nil, now: 0) == nil)
    }

    @Test func bearerHeader() {
        #expect(AccessPolicy.bearerToken(fromAuthorization: "Bearer abc") == "abc")
        #expect(AccessPolicy.bearerToken(fromAuthorization: "bearer  abc ") == "abc")
        #expect(AccessPolicy.bearerToken(fromAuthorization: "Basic abc") == nil)
        #expect(AccessPolicy.bearerToken(fromAuthorization: nil) == nil)
    }

    @Test func constantTimeComparison() {
        #expect(constantTimeEquals("secret", "secret"))
        #expect(!constantTimeEquals("secreT", "secret"))
        #expect(!constantTimeEquals("", "secret"))
        #expect(!constantTimeEquals("secret-and-more", "secret"))
    }

    /// A length difference must fail even where it is a multiple of 256.
    @Test(arguments: [1, 255, 256, 257, 512, 65_536])
    func secretFollowedOrCutByExtraBytes(extra: Int) {
        let secret = "s3cret-token"
        let padding = String(repeating: "x", count: extra)
        #expect(!constantTimeEquals(secret + padding, secret))
        #expect(!constantTimeEquals(secret, secret + padding))
        #expect(!constantTimeEquals(String(repeating: "\0", count: extra), ""))
        let policy = AccessPolicy(credentials: .init(token: secret, readToken: "r3ad"))
        #expect(policy.access(presented: secret + padding, now: 0) == nil)
        #expect(policy.access(presented: "r3ad" + padding, now: 0) == nil)
    }
}

@Suite struct ClientAddressTests {
    private func resolve(_ peer: String, trusted: Bool, _ forwardedFor: String?) -> String {
        ClientAddress.resolve(
            peer: peer, peerIsTrusted: trusted, forwardedFor: forwardedFor,
            isTrustedProxy: { ["127.0.0.1", "10.0.0.2"].contains($0) })
    }

    @Test func forwardedForCountsOnlyFromATrustedPeer() {
        #expect(resolve("127.0.0.1", trusted: true, "1.2.3.4, 5.6.7.8") == "5.6.7.8")
        #expect(resolve("10.0.0.9", trusted: false, "5.6.7.8") == "10.0.0.9")
        #expect(resolve("127.0.0.1", trusted: true, " , ") == "127.0.0.1")
    }

    @Test func forwardedForSkipsTrustedProxiesInTheChain() {
        // nginx appends the address it saw; a second trusted hop appends its own.
        #expect(resolve("127.0.0.1", trusted: true, "203.0.113.7, 127.0.0.1") == "203.0.113.7")
        #expect(resolve("127.0.0.1", trusted: true, "6.6.6.6, 203.0.113.7, 10.0.0.2") == "203.0.113.7")
        #expect(resolve("127.0.0.1", trusted: true, "127.0.0.1, 10.0.0.2") == "127.0.0.1")
    }
}

@Suite struct StateChangingRequestTests {
    @Test func onlyJSONCountsAsJSON() {
        #expect(JSONMediaType.matches("application/json"))
        #expect(JSONMediaType.matches("Application/JSON; charset=utf-8"))
        #expect(JSONMediaType.matches(" application/json ;charset=UTF-8"))
        #expect(!JSONMediaType.matches(nil))
        #expect(!JSONMediaType.matches(""))
        #expect(!JSONMediaType.matches("text/plain"))
        #expect(!JSONMediaType.matches("text/plain; a=application/json"))
        #expect(!JSONMediaType.matches("application/jsonp"))
        #expect(!JSONMediaType.matches("application/json-seq"))
        #expect(!JSONMediaType.matches("multipart/form-data; boundary=x"))
    }

    @Test func emptyWsIsNoLongerTheDefaultDocument() {
        // lws resolves /ws/., /ws/%00 and /ws// to /ws/ before the server sees them.
        #expect(WebSocketRoute.document(forPath: "/ws/") == .failure(.invalidDocumentName("")))
        #expect(WebSocketRoute.document(forPath: "/ws") == .success(.default))
    }

    @Test func whatLwsCutsIsRefusedWhole() {
        #expect(RequestTarget.check(httpVersion: "HTTP/1.1", queryFragments: []) == nil)
        #expect(RequestTarget.check(httpVersion: "HTTP/1.0", queryFragments: ["client=a", "since=3"]) == nil)
        #expect(RequestTarget.check(httpVersion: "HTTP/1.1", queryFragments: ["token=a=b"]) == nil)
        #expect(RequestTarget.check(httpVersion: "HTTP/1.1", queryFragments: ["doc=a", ""]) == nil)
        // `?client=a b`: the rest of the target is glued to the version.
        #expect(
            RequestTarget.check(httpVersion: "b HTTP/1.1", queryFragments: ["client=a"])
                == .malformedRequestLine(version: "b HTTP/1.1"))
        #expect(RequestTarget.check(httpVersion: nil, queryFragments: []) == .malformedRequestLine(version: ""))
        // `?client=a;b`: lws splits at the semicolon.
        #expect(
            RequestTarget.check(httpVersion: "HTTP/1.1", queryFragments: ["client=a", "b"])
                == .argumentWithoutValue("b"))
        #expect(
            RequestTarget.check(httpVersion: "HTTP/1.1", queryFragments: ["client=a", "client=b"])
                == .repeatedArgument("client"))
    }

    /// Whatever the pieces, a verdict and a one-line description of bounded size.
    @Test func randomFragmentsGetABoundedVerdict() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("a=;&%\0\n b\u{7f}é".unicodeScalars)
        for _ in 0..<2000 {
            let fragments = (0..<Int.random(in: 0...4, using: &generator)).map { _ in
                String(String.UnicodeScalarView((0..<Int.random(in: 0...200, using: &generator)).map { _ in
                    alphabet.randomElement(using: &generator)!
                }))
            }
            let verdict = RequestTarget.check(httpVersion: "HTTP/1.1", queryFragments: fragments)
            let pieces = fragments.filter { !$0.isEmpty }
            let expectedValid =
                pieces.allSatisfy { $0.contains("=") }
                && Set(pieces.map { $0.split(separator: "=", omittingEmptySubsequences: false)[0] }).count
                    == pieces.count
            #expect((verdict == nil) == expectedValid)
            if let verdict {
                #expect(!verdict.description.contains("\n") && verdict.description.count < 200)
            }
        }
    }
}
