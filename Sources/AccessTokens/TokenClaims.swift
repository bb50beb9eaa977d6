import JSONPatch

/// What a verified token says: who (`sub`), until when (`exp`, `nbf`), and the `patchsync`
/// claim's patterns over document names.
///
///     {"sub":"line-3 operator","exp":1767225600,"nbf":1767222000,
///      "patchsync":{"read":["line-*"],"write":["line-3"],"admin":false}}
public struct TokenClaims: Sendable, Hashable {
    /// `sub`: recorded as the author of every change made with the token.
    public let subject: String
    /// `exp`, seconds since the Unix epoch.
    public let expiresAt: Int64
    /// `nbf`, seconds since the Unix epoch, if given.
    public let notBefore: Int64?
    /// Document-name patterns the token may read (`write` and `admin` add to them).
    public let read: [String]
    public let write: [String]
    public let admin: Bool

    /// Longest `sub` kept: it is written into every event.
    public static let maximumSubjectBytes = 256
    /// Most patterns in `read` plus `write`.
    public static let maximumPatterns = 256

    public init(
        subject: String, expiresAt: Int64, notBefore: Int64? = nil, read: [String] = [], write: [String] = [],
        admin: Bool = false
    ) {
        self.subject = subject
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.read = read
        self.write = write
        self.admin = admin
    }

    init(json object: JSONObject) throws(TokenRejection) {
        guard let exp = object["exp"].flatMap(Self.seconds) else {
            throw TokenRejection(.invalidClaims, "\"exp\" must be a number of seconds")
        }
        var notBefore: Int64?
        if let member = object["nbf"] {
            guard let seconds = Self.seconds(member) else {
                throw TokenRejection(.invalidClaims, "\"nbf\" must be a number of seconds")
            }
            notBefore = seconds
        }
        guard let subject = object["sub"]?.stringValue, !subject.isEmpty,
            subject.utf8.count <= Self.maximumSubjectBytes
        else {
            throw TokenRejection(
                .invalidClaims, "\"sub\" must be a string of 1 to \(Self.maximumSubjectBytes) bytes")
        }
        var read: [String] = []
        var write: [String] = []
        var admin = false
        if let member = object["patchsync"] {
            guard case .object(let grant) = member else {
                throw TokenRejection(.invalidClaims, "\"patchsync\" must be an object")
            }
            read = try Self.patterns(grant["read"], "read")
            write = try Self.patterns(grant["write"], "write")
            if let flag = grant["admin"] {
                guard let value = flag.boolValue else {
                    throw TokenRejection(.invalidClaims, "\"patchsync.admin\" must be true or false")
                }
                admin = value
            }
            guard read.count + write.count <= Self.maximumPatterns else {
                throw TokenRejection(.invalidClaims, "more than \(Self.maximumPatterns) patterns")
            }
        }
        self.init(subject: subject, expiresAt: exp, notBefore: notBefore, read: read, write: write, admin: admin)
    }

    /// Refuses a token outside its lifetime, allowing `skew` seconds either way.
    public func check(now: Int64, skew: Int64) throws(TokenRejection) {
        let latest = expiresAt > Int64.max - skew ? Int64.max : expiresAt + skew
        guard now <= latest else { throw TokenRejection(.expired, "expired at \(expiresAt)") }
        if let notBefore {
            let earliest = notBefore < Int64.min + skew ? Int64.min : notBefore - skew
            guard now >= earliest else { throw TokenRejection(.notYetValid, "not valid before \(notBefore)") }
        }
    }

    /// NumericDate (RFC 7519): seconds, possibly with a fraction, which is dropped.
    private static func seconds(_ value: JSONValue) -> Int64? {
        switch value {
        case .integer(let integer): return integer
        case .real(let real) where real.isFinite && real.magnitude < 9e18: return Int64(real.rounded(.down))
        default: return nil
        }
    }

    private static func patterns(_ value: JSONValue?, _ name: String) throws(TokenRejection) -> [String] {
        guard let value else { return [] }
        guard case .array(let items) = value else {
            throw TokenRejection(.invalidClaims, "\"patchsync.\(name)\" must be an array of strings")
        }
        var patterns: [String] = []
        for item in items {
            guard let pattern = item.stringValue, pattern.utf8.count <= 256 else {
                throw TokenRejection(.invalidClaims, "\"patchsync.\(name)\" must hold strings of at most 256 bytes")
            }
            patterns.append(pattern)
        }
        return patterns
    }
}
