import JSONPatch

/// Where documents' events live: the files of a data directory (`FileDocumentStore`, in the
/// `FileStore` target) or a database shared by several instances (`PostgresDocumentStore`). The
/// document actor talks only to this.
///
/// Every method is async and the store runs its blocking work (write, fsync, a database round
/// trip) on threads of its own: no store ever blocks the transport's service thread or the Swift
/// cooperative pool. Calls on one document are made one at a time, by its actor.
public protocol DocumentStore: AnyObject, Sendable {
    /// What the store can do beyond the basics; the engine asks this, never what kind it is.
    var capabilities: StoreCapabilities { get }

    /// Called once by the engine before anything else: `initialState` is every document's state
    /// at version 0, `schemas` what the model reads. Changes made elsewhere (other instances, SQL)
    /// are then delivered to `onChange`, from any thread; a store without `.otherWriters` never calls it.
    func start(initialState: JSONValue, schemas: StoreSchemas, onChange: @escaping @Sendable (StoreChange) -> Void)
        async throws(StorageError)

    /// Every document that exists, at start-up, when the store has `.listsDocumentsAtStart`. A
    /// store without it may return none: its documents then load on demand, and it lists them
    /// through `onChange(.versions)` (until it has, a request for a document not in memory is
    /// answered `storageUnavailable`).
    func loadDocuments() async throws(StorageError) -> [StoredDocument]

    /// One document as it is now, or nil if it has no change yet.
    func load(_ name: DocumentName) async throws(StorageError) -> StoredDocument?

    /// Makes `commit.events` durable as the versions after `commit.startVersion`, all or none.
    func append(_ commit: StoreCommit) async throws(StorageError) -> AppendResult

    /// A commit that cannot conflict, for a document several writers change at once: locks the
    /// document (and claims `entry`, if the batch applies an inbox entry: `.inboxEntryTaken`
    /// without a handover if another instance has it), hands `exchange` the events committed
    /// after `version`, waits for the batch built on top of them and makes it durable before
    /// unlocking. The default, for stores without other writers, takes no lock. A store that
    /// blocks its own thread while it waits uses `LockedCommit.awaitCommit` there; one that
    /// waits on the cooperative pool uses `LockedCommit.submitted`.
    func append(locking name: DocumentName, after version: UInt64, claiming entry: InboxEntry?, _ exchange: LockedCommit)
        async throws(StorageError) -> AppendResult

    /// Up to `limit` events after `version`, oldest first; when the store no longer keeps the
    /// first of them, the list starts at the oldest it keeps.
    func events(of name: DocumentName, after version: UInt64, limit: Int) async throws(StorageError) -> StoredEvents

    /// The events that logged the actions `keys` name, whatever their age (none for keys never
    /// logged). The engine asks a store with `.otherWriters` when its outcomes in memory do not
    /// reach back far enough (other instances log actions too, and it keeps all history).
    func loggedActions(of name: DocumentName, _ keys: [ActionKey]) async throws(StorageError) -> [DocumentEvent]

    /// The state at `version` (at most the latest), rebuilt from what the store keeps.
    func state(of name: DocumentName, at version: UInt64) async throws(StorageError) -> StoredState

    /// Records that inbox entry `entry` was refused with `code` when the document was at
    /// `version`; not recorded if the document has moved on meanwhile (it is tried again then).
    func rejectInboxEntry(_ entry: InboxEntry, code: SyncErrorCode, message: String, at version: UInt64)
        async throws(StorageError)

    /// Why the store cannot take writes right now (nil: it can). Cheap; called from any thread.
    var unavailableReason: String? { get }

    /// Housekeeping after a commit (the file store compacts its log here). Returns the oldest
    /// version whose successors the store keeps when that changed, nil otherwise.
    func maintain(_ name: DocumentName) async -> UInt64?

    /// Releases what the store holds open for the document.
    func close(_ name: DocumentName) async

    /// Lets queued work finish, stops background work and closes files or connections; the
    /// store is not used afterwards. Blocks (it is called from `deinit` too).
    func shutdown()
}

/// What a store can do, named: the engine's choices follow these, not the store's kind.
public struct StoreCapabilities: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// `loadDocuments` returns every document at start-up, so a name not among them does not
    /// exist. Without it the store lists its documents later (`StoreChange.versions`).
    public static let listsDocumentsAtStart = StoreCapabilities(rawValue: 1 << 0)
    /// Others (other instances, SQL) write the documents too: a document unknown here may exist
    /// in the store, and an action may have been logged by another writer (`loggedActions`).
    public static let otherWriters = StoreCapabilities(rawValue: 1 << 1)
    /// `unavailableReason` says whether a server the store depends on is reachable, which
    /// `/metrics` reports (`patchsync_database_up`).
    public static let reportsReachability = StoreCapabilities(rawValue: 1 << 2)
}

/// The schema versions of the model: a store refuses data written at a newer one and starts
/// a log written at an older one from that schema's initial state.
public struct StoreSchemas: Sendable {
    public var current: Int
    /// The initial state at a schema, nil if the model does not know it.
    public var initialState: @Sendable (_ schema: Int) -> JSONValue?
    /// The declared type documents are stored as (their events and rows carry it); nil for the
    /// engine's own model, whose data carries no model name.
    public var model: String?
    /// The schemas of a declared type, by its name (the `model` stored data carries); nil for a
    /// type not declared now.
    public var declared: @Sendable (String) -> StoreSchemas?

    public init(
        current: Int, model: String? = nil, declared: @escaping @Sendable (String) -> StoreSchemas? = { _ in nil },
        initialState: @escaping @Sendable (_ schema: Int) -> JSONValue?
    ) {
        self.current = current
        self.model = model
        self.declared = declared
        self.initialState = initialState
    }

    /// The schemas of data stored as `model` (nil: the engine's own model); nil for a type not declared now.
    public func of(model: String?) -> StoreSchemas? {
        guard let model, model != self.model else { return self }
        return declared(model)
    }
}

/// A document read from a store.
public struct StoredDocument: Sendable {
    public var name: DocumentName
    public var version: UInt64
    /// The model's schema version the state is written in (older ones are migrated at start-up).
    public var schema: Int
    /// The declared type the document was written as (its latest event says); nil: the engine's own model.
    public var model: String?
    /// The state at `version`.
    public var state: JSONValue
    /// The oldest version whose successors the store keeps.
    public var oldestVersion: UInt64
    /// The newest events the store read anyway while loading (none is fine): they seed the
    /// in-memory window used for resume and history.
    public var recentEvents: [DocumentEvent]

    public init(
        name: DocumentName, version: UInt64, schema: Int, state: JSONValue, oldestVersion: UInt64,
        recentEvents: [DocumentEvent], model: String? = nil
    ) {
        self.model = model
        self.oldestVersion = oldestVersion
        self.name = name
        self.version = version
        self.schema = schema
        self.state = state
        self.recentEvents = recentEvents
    }
}

extension DocumentStore {
    public func append(
        locking name: DocumentName, after version: UInt64, claiming entry: InboxEntry?, _ exchange: LockedCommit
    ) async throws(StorageError) -> AppendResult {
        exchange.handOver(try await events(of: name, after: version, limit: Int.max).events)
        // Suspended, not blocked: this runs on the cooperative pool. `append` claims the entry.
        guard let commit = await exchange.submitted(), !commit.events.isEmpty || commit.inboxEntry != nil else {
            return .committed(duration: .zero)
        }
        return try await append(commit)
    }
}

extension StoredDocument {
    /// The version with the time of its event, when the events read include it.
    var latestChange: LatestChange {
        LatestChange(
            version: version, time: recentEvents.last.flatMap { $0.version == version ? $0.time : nil })
    }
}

/// One batch of a document's changes to make durable.
public struct StoreCommit: Sendable {
    public var name: DocumentName
    /// The durable version the batch was built on: the events are `startVersion + 1 ...`.
    public var startVersion: UInt64
    public var events: [DocumentEvent]
    /// Each event's log line (`DocumentEvent.encodedLine()`: JSON and a newline), in order.
    public var encodedEvents: [[UInt8]]
    /// The state after the last event, for stores that keep a copy of it.
    public var state: JSONValue
    /// The inbox entry the batch applies: claimed in the same transaction, so that it is applied
    /// exactly once. Its batch may have no events (an action that changed nothing).
    public var inboxEntry: InboxEntry?

    public init(
        name: DocumentName, startVersion: UInt64, events: [DocumentEvent], encodedEvents: [[UInt8]], state: JSONValue,
        inboxEntry: InboxEntry? = nil
    ) {
        self.name = name
        self.startVersion = startVersion
        self.events = events
        self.encodedEvents = encodedEvents
        self.state = state
        self.inboxEntry = inboxEntry
    }
}

/// How an append ended when the store did not fail.
public enum AppendResult: Sendable, Equatable {
    /// Durable; `duration` is what the write itself took (for the commit histogram).
    case committed(duration: Duration)
    /// Another writer committed after `startVersion` first: nothing was written. The caller
    /// reads the newer events, applies them and builds its batch again.
    case conflict
    /// The batch's inbox entry was applied by another instance: nothing was written.
    case inboxEntryTaken
    /// An event of the batch names a `(client, id)` that is already logged (another instance
    /// applied a resend of it first): nothing was written. The caller reads the original events
    /// (`loggedActions`) and builds its batch again, answering the repeats with their outcomes.
    case repeatedAction
}

/// An action submitted through a shared store's inbox (SQL `INSERT INTO <schema>.inbox`).
public struct InboxEntry: Sendable, Equatable {
    public var id: Int64
    public var document: DocumentName
    /// The action's JSON text.
    public var action: [UInt8]
    /// The row's `author`, filled in by the writer, recorded with the event; nil if empty.
    public var author: String?

    public init(id: Int64, document: DocumentName, action: [UInt8], author: String? = nil) {
        self.id = id
        self.document = document
        self.action = action
        self.author = author
    }
}

/// Events read back from a store.
public struct StoredEvents: Sendable {
    /// Consecutive events, oldest first.
    public var events: [DocumentEvent]
    /// The oldest version whose successors the store still has.
    public var oldestVersion: UInt64

    public init(events: [DocumentEvent], oldestVersion: UInt64) {
        self.events = events
        self.oldestVersion = oldestVersion
    }
}

/// A past state, or the reason it is not available.
public enum StoredState: Sendable {
    /// The state and the model's schema version it is written in.
    case available(JSONValue, schema: Int)
    /// The store keeps versions `oldestVersion ... latestVersion` only.
    case unavailable(oldestVersion: UInt64, latestVersion: UInt64)
}

/// Something that happened in a shared store outside this instance.
public enum StoreChange: Sendable {
    /// Another instance committed `version` of a document: if it is open here, it catches up.
    case notified(DocumentName, version: UInt64)
    /// Every document's version and the time of its latest change, after a reconnect and at
    /// every periodic check (changes may have been missed): open documents that are behind catch up.
    case versions([DocumentName: LatestChange])
    /// Inbox entries waiting to be applied.
    case inbox([InboxEntry])
}
