import SyncEngine

/// What one request or session may do, and who it is: from a signed token's claims, or from a
/// static token (`--token` may do everything, `--read-token` read everything), or everything
/// when the server needs no credentials at all.
///
/// `write` implies `read`; `admin` implies both, on every document, plus revert and `/metrics`.
public struct DocumentAccess: Sendable, Hashable {
    /// The token's `sub`: recorded as the author of changes. Nil for static tokens.
    public var author: String?
    public var read: [DocumentPattern]
    public var write: [DocumentPattern]
    public var admin: Bool
    /// Seconds since the Unix epoch when the token expires (sessions close then); nil: never.
    public var expiresAt: Int64?

    public init(
        author: String? = nil, read: [DocumentPattern] = [], write: [DocumentPattern] = [], admin: Bool = false,
        expiresAt: Int64? = nil
    ) {
        self.author = author
        self.read = read
        self.write = write
        self.admin = admin
        self.expiresAt = expiresAt
    }

    /// `--token`, or a server without credentials.
    public static let everything = DocumentAccess(admin: true)
    /// `--read-token`.
    public static let readEverything = DocumentAccess(read: [DocumentPattern("*")])

    public func mayRead(_ document: DocumentName) -> Bool {
        admin || mayWrite(document) || read.contains { $0.matches(document.rawValue) }
    }

    public func mayWrite(_ document: DocumentName) -> Bool {
        admin || write.contains { $0.matches(document.rawValue) }
    }

    /// Whether anything at all may be changed with this access (a read-only token may not).
    public var mayWriteAnything: Bool { admin || !write.isEmpty }

    /// The role of a session on `document`, or nil when it may not even read it.
    public func role(on document: DocumentName) -> SessionRole? {
        if mayWrite(document) { return .editor }
        if mayRead(document) { return .viewer }
        return nil
    }
}
