import JSONPatch
import SyncEngine

/// The store API: each call runs on the writer connection's thread, in order, and is awaited
/// there, so libpq never blocks the cooperative pool or the transport's service thread.
extension PostgresDocumentStore: DocumentStore {
    /// Other instances and SQL write the same documents; documents are listed once the database
    /// answers (not at start-up), and `/metrics` reports whether it does.
    public var capabilities: StoreCapabilities { [.otherWriters, .reportsReachability] }

    /// Connects, runs the migrations and lists the documents (`onChange(.versions)`). An
    /// unreachable database does not stop start-up (see `startNow`).
    public func start(
        initialState: JSONValue, schemas: StoreSchemas, onChange: @escaping @Sendable (StoreChange) -> Void
    ) async throws(StorageError) {
        try await thread.call { () throws(StorageError) in
            try self.startNow(initialState: initialState, schemas: schemas, onChange: onChange)
        }
    }

    /// None: documents load on demand. Reading every state at start-up would cost time and memory
    /// in proportion to the whole database, and needs the database up. The listener lists the
    /// documents and their versions as soon as it connects.
    public func loadDocuments() async -> [StoredDocument] { [] }

    public func load(_ name: DocumentName) async throws(StorageError) -> StoredDocument? {
        try await thread.call { () throws(StorageError) in try self.loadNow(name) }
    }

    public func append(_ commit: StoreCommit) async throws(StorageError) -> AppendResult {
        try await thread.call { () throws(StorageError) in try self.appendNow(commit) }
    }

    public func events(of name: DocumentName, after version: UInt64, limit: Int) async throws(StorageError)
        -> StoredEvents
    {
        try await thread.call { () throws(StorageError) in try self.eventsNow(of: name, after: version, limit: limit) }
    }

    public func loggedActions(of name: DocumentName, _ keys: [ActionKey]) async throws(StorageError) -> [DocumentEvent] {
        try await thread.call { () throws(StorageError) in try self.loggedActionsNow(of: name, keys) }
    }

    public func state(of name: DocumentName, at version: UInt64) async throws(StorageError) -> StoredState {
        try await thread.call { () throws(StorageError) in try self.stateNow(of: name, at: version) }
    }

    public func rejectInboxEntry(_ entry: InboxEntry, code: SyncErrorCode, message: String, at version: UInt64)
        async throws(StorageError)
    {
        try await thread.call { () throws(StorageError) in
            try self.rejectInboxEntryNow(entry, code: code, message: message, at: version)
        }
    }

    /// Events are kept for good (the table refuses DELETE): nothing to do.
    public func maintain(_ name: DocumentName) async -> UInt64? { nil }

    public func close(_ name: DocumentName) async {
        await thread.perform { self.closeNow(name) }
    }
}
