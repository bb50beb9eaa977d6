/// The `--jwt-key` files, read together: either all of them load or the set is refused.
public struct TokenKeySet: Sendable {
    public let keys: [VerificationKey]
    public let paths: [String]

    /// Reads every file; fails on the first one that cannot be used, or on two files with the
    /// same key id (a token's `kid` could not tell them apart).
    public init(paths: [String]) throws(TokenKeyError) {
        var keys: [VerificationKey] = []
        for path in paths {
            let key = try VerificationKey(path: path)
            if let other = keys.firstIndex(where: { $0.id == key.id }) {
                throw TokenKeyError(
                    path: path, "has the key id '\(key.id)' of \(paths[other]) too; rename one of the files")
            }
            keys.append(key)
        }
        self.keys = keys
        self.paths = paths
    }

    /// Keys made in memory (tests, benchmarks): there are no files to read again on SIGHUP.
    public init(keys: [VerificationKey]) {
        self.keys = keys
        self.paths = []
    }

    /// The keys a token with header `algorithm` and `keyID` may be checked against: the key
    /// `kid` names, or every key of the token's algorithm when it names none. A key of another
    /// algorithm never checks a token: an HS256 token must not be "verified" with a public key
    /// used as an HMAC secret.
    func candidates(algorithm: String, keyID: String?) throws(TokenRejection) -> [VerificationKey] {
        guard let algorithm = VerificationKey.Algorithm(rawValue: algorithm) else {
            throw TokenRejection(.algorithmNotAllowed, "algorithm '\(algorithm)' is not accepted")
        }
        if let keyID {
            guard let key = keys.first(where: { $0.id == keyID }) else {
                throw TokenRejection(.unknownKey, "no key '\(keyID)'")
            }
            guard key.algorithm == algorithm else {
                throw TokenRejection(.algorithmNotAllowed, "key '\(keyID)' is \(key.algorithm.rawValue), not \(algorithm.rawValue)")
            }
            return [key]
        }
        let matching = keys.filter { $0.algorithm == algorithm }
        guard !matching.isEmpty else {
            throw TokenRejection(.algorithmNotAllowed, "no \(algorithm.rawValue) key is configured")
        }
        return matching
    }
}
