extension SyncEngine {
    /// How the engine stores and serves documents.
    ///
    /// Retention policy of the file store: every change is appended to
    /// `<dataDirectory>/<document>/log.jsonl`. Once the log holds `retainedEvents + snapshotInterval`
    /// events, the store writes the state at (latest - `retainedEvents`) to `snapshot.json` and
    /// rewrites the log to keep only the `retainedEvents` newest events. So start-up reads one
    /// snapshot and at most `retainedEvents + snapshotInterval` events, whatever the document's
    /// age, and resume, history, revert and replay reach back at least `retainedEvents` versions.
    ///
    /// Memory holds at most `retainedEvents` events and `retainedEventBytes` bytes of them per
    /// document; older ones are read from the store when a resume or history query needs them.
    public struct Configuration: Sendable {
        /// The directory holding one subdirectory per document (file store). Created if missing.
        public var dataDirectory: String
        /// Where documents live; nil: the file store in `dataDirectory`.
        public var store: (any DocumentStore)?
        /// Newest events kept after compaction: the resume and history window. Default 1000.
        public var retainedEvents: Int
        /// Most bytes of events (encoded) kept in memory per document. Default 8 MiB.
        public var retainedEventBytes: Int
        /// Events appended between two compactions. Default 1000.
        public var snapshotInterval: Int
        /// What clients may make one document hold.
        public var limits: DocumentLimits
        /// Most documents in memory at once. A session on another document is refused with
        /// `too_many_documents` (HTTP 503 on the upgrade); the API answers 503. Default 100.
        public var maximumDocuments: Int
        /// How long a document stays in memory with no session and no request before it is
        /// unloaded (it reloads from disk on demand). A document that was never changed (nothing
        /// on disk) is unloaded as soon as its last session leaves. Default 2 minutes.
        public var idleUnloadDelay: Duration
        /// All file access goes through this; replace it to inject failures in tests.
        public var storage: any StorageIO
        /// How instances sharing `store` see each other's sessions in presence; nil: presence is
        /// this instance's sessions only.
        public var presenceBus: (any PresenceBus)?
        /// Document types declared by JSON Schemas (`--types DIR`): documents whose names their
        /// patterns match are of that type; every other document is of the engine's `Model`.
        public var types: DeclaredTypes

        public init(
            dataDirectory: String,
            store: (any DocumentStore)? = nil,
            retainedEvents: Int = 1000,
            retainedEventBytes: Int = 8 << 20,
            snapshotInterval: Int = 1000,
            limits: DocumentLimits = DocumentLimits(),
            maximumDocuments: Int = 100,
            idleUnloadDelay: Duration = .seconds(120),
            storage: any StorageIO = PosixStorageIO(),
            presenceBus: (any PresenceBus)? = nil,
            types: DeclaredTypes = .none
        ) {
            self.types = types
            self.dataDirectory = dataDirectory
            self.store = store
            self.retainedEvents = max(0, retainedEvents)
            self.retainedEventBytes = max(0, retainedEventBytes)
            self.snapshotInterval = max(1, snapshotInterval)
            self.limits = limits
            self.maximumDocuments = max(1, maximumDocuments)
            self.idleUnloadDelay = idleUnloadDelay
            self.storage = storage
            self.presenceBus = presenceBus
        }
    }
}
