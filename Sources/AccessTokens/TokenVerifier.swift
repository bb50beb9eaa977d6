import COpenSSL
import Synchronization

/// Checks signed tokens against the configured keys and remembers the good ones.
///
/// A verified token is cached by its SHA-256 until it expires, so a reconnect storm with one
/// token pays for one signature check (an Ed25519 or P-256 check costs about 100 µs here). Only
/// the clock is checked again on a cache hit. Replacing the keys empties the cache: a token of a
/// key that was removed stops working at once.
public final class TokenVerifier: Sendable {
    /// Seconds a token's `exp` and `nbf` may be off when it is presented.
    public static let allowedSkew: Int64 = 30

    private struct State {
        var keys: TokenKeySet
        var cache: [[UInt8]: TokenClaims] = [:]
    }

    private let state: Mutex<State>
    /// Most tokens remembered; when full, expired ones go, and if none has, all of them.
    private let cacheLimit: Int

    public init(keys: TokenKeySet, cacheLimit: Int = 10_000) {
        state = Mutex(State(keys: keys))
        self.cacheLimit = cacheLimit
    }

    /// The key files in use.
    public var keyPaths: [String] { state.withLock { $0.keys.paths } }

    /// Replaces the keys (SIGHUP); sessions already open keep what they were given.
    public func replaceKeys(with keys: TokenKeySet) {
        state.withLock {
            $0.keys = keys
            $0.cache.removeAll()
        }
    }

    /// The claims of `token` when it is well formed, signed by a configured key and within its
    /// lifetime at `now` (seconds since the epoch) give or take `allowedSkew`.
    public func verify(_ token: some StringProtocol, now: Int64) throws(TokenRejection) -> TokenClaims {
        let digest = Self.sha256(Array(token.utf8))
        if let claims = state.withLock({ $0.cache[digest] }) {
            try claims.check(now: now, skew: Self.allowedSkew)
            return claims
        }
        let parsed = try SignedToken(parsing: token)
        let keys = state.withLock { $0.keys }
        let candidates = try keys.candidates(algorithm: parsed.algorithm, keyID: parsed.keyID)
        guard candidates.contains(where: { $0.verifies(parsed.signature, of: parsed.signingInput) }) else {
            throw TokenRejection(.badSignature, "no configured key verifies the signature")
        }
        try parsed.claims.check(now: now, skew: Self.allowedSkew)
        state.withLock { state in
            // Keys replaced while this one was being checked: do not cache under the new set.
            guard state.keys.keys.map(ObjectIdentifier.init) == keys.keys.map(ObjectIdentifier.init) else { return }
            if state.cache.count >= cacheLimit {
                state.cache = state.cache.filter { $0.value.expiresAt + Self.allowedSkew >= now }
                if state.cache.count >= cacheLimit { state.cache.removeAll() }
            }
            state.cache[digest] = parsed.claims
        }
        return parsed.claims
    }

    /// Tokens remembered now (for tests and metrics).
    public var cachedCount: Int { state.withLock { $0.cache.count } }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = EVP_Digest(bytes, bytes.count, &digest, &length, EVP_sha256(), nil)
        return digest
    }
}
