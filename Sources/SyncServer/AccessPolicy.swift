import AccessTokens
import SyncAPI
import SyncEngine

/// Turns the token of a request (upgrade or API) into what it may do, or a refusal (HTTP 401).
///
/// Static tokens come first: `--token` may do everything, `--read-token` read everything. Any
/// other token is checked as a signed token when `--jwt-key` is given. A refusal never says why:
/// a forger must not learn whether the signature, the algorithm or the clock was wrong.
struct AccessPolicy {
    let credentials: ServerConfiguration.Credentials

    /// `presented` is the token from `Authorization: Bearer` or `?token=`; `now` in seconds.
    func access(presented: String?, now: Int64) -> DocumentAccess? {
        try? check(presented: presented, now: now).get()
    }

    /// As `access`, with why a token was refused, for the server's log only (never the token,
    /// never anything it says: the reason is one of a few fixed words).
    func check(presented: String?, now: Int64) -> Result<DocumentAccess, Refusal> {
        guard credentials.isRequired else { return .success(.everything) }
        guard let presented else { return .failure(Refusal(reason: "no token")) }
        // Check both secrets every time so the timing does not say which one matched.
        let isEditor = credentials.token.map { constantTimeEquals(presented, $0) } ?? false
        let isViewer = credentials.readToken.map { constantTimeEquals(presented, $0) } ?? false
        if isEditor { return .success(.everything) }
        if isViewer { return .success(.readEverything) }
        guard let verifier = credentials.tokenVerifier else { return .failure(Refusal(reason: "wrong token")) }
        do {
            return .success(DocumentAccess(try verifier.verify(presented, now: now)))
        } catch {
            return .failure(Refusal(reason: error.reason.rawValue))
        }
    }

    struct Refusal: Error {
        /// `no token`, `wrong token`, or a `TokenRejection.Reason` (`expired`, `badSignature`, ...).
        let reason: String
    }

    /// The bearer token in an `Authorization` header value.
    static func bearerToken(fromAuthorization header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingSpaces()
    }
}

extension DocumentAccess {
    /// The access a verified token's claims grant.
    init(_ claims: TokenClaims) {
        self.init(
            author: claims.subject, read: claims.read.map(DocumentPattern.init),
            write: claims.write.map(DocumentPattern.init), admin: claims.admin, expiresAt: claims.expiresAt)
    }
}

extension String {
    func trimmingSpaces() -> String {
        var view = Substring(self)
        while view.first == " " || view.first == "\t" { view.removeFirst() }
        while view.last == " " || view.last == "\t" { view.removeLast() }
        return String(view)
    }
}
