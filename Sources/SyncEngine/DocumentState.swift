import JSONPatch

/// A document's state as JSON at a version.
public struct DocumentState: Sendable, Hashable {
    public let version: UInt64
    public let state: JSONValue

    public init(version: UInt64, state: JSONValue) {
        self.version = version
        self.state = state
    }
}

/// A page of a document's retained history.
public struct HistoryPage: Sendable, Hashable {
    /// The events asked for, oldest first.
    public let events: [DocumentEvent]
    /// The oldest version whose event is retained: older ones were compacted into the snapshot.
    public let oldestVersion: UInt64
    /// Whether events that were asked for are no longer retained, so the page starts later than asked.
    public let isTruncated: Bool

    public init(events: [DocumentEvent], oldestVersion: UInt64, isTruncated: Bool) {
        self.events = events
        self.oldestVersion = oldestVersion
        self.isTruncated = isTruncated
    }
}

/// A document's latest version and when its change was made.
public struct LatestChange: Sendable, Hashable {
    public let version: UInt64
    /// The time of that version's event (ms since the epoch), nil when unknown.
    public let time: Int64?
    /// The model's title of the document at that version (`DocumentModel.title(of:)`), nil when
    /// it has none or this process has not read the state (a shared store's listing).
    public let title: String?

    public init(version: UInt64, time: Int64?, title: String? = nil) {
        self.version = version
        self.time = time
        self.title = title
    }
}

/// One entry of the document list.
public struct DocumentSummary: Sendable, Hashable {
    public let name: DocumentName
    public let version: UInt64
    /// The time of the latest change (ms since the epoch), nil when unknown.
    public let changed: Int64?
    /// The declared type the document's name gives it; nil for the engine's own model.
    public let model: String?
    /// What people call the document (`DocumentKind.title`), nil when unknown or none.
    public let title: String?

    public init(name: DocumentName, version: UInt64, changed: Int64?, model: String? = nil, title: String? = nil) {
        self.name = name
        self.version = version
        self.changed = changed
        self.model = model
        self.title = title
    }
}
