extension SyncEngine {
    /// How the engine serves documents, and which store keeps them. What a store needs (a data
    /// directory, a database URL) is in that store's own configuration.
    ///
    /// Memory holds at most `retainedEvents` events and `retainedEventBytes` bytes of them per
    /// document; older ones are read from the store when a resume or history query needs them.
    public struct Configuration: Sendable {
        /// Where documents live: a `FileDocumentStore` (target `FileStore`), a
        /// `PostgresDocumentStore`, or a store of one's own. The engine starts it and shuts it down.
        public var store: any DocumentStore
        /// Newest events kept in memory per document: the resume and history window served
        /// without reading the store. Default 1000.
        public var retainedEvents: Int
        /// Most bytes of events (encoded) kept in memory per document. Default 8 MiB.
        public var retainedEventBytes: Int
        /// What clients may make one document hold.
        public var limits: DocumentLimits
        /// Most documents in memory at once. A session on another document is refused with
        /// `too_many_documents` (HTTP 503 on the upgrade); the API answers 503. Default 100.
        public var maximumDocuments: Int
        /// How long a document stays in memory with no session and no request before it is
        /// unloaded (it reloads from the store on demand). A document that was never changed
        /// (nothing stored) is unloaded as soon as its last session leaves. Default 2 minutes.
        public var idleUnloadDelay: Duration
        /// In a store with other writers, how long after a conflict a document's batches commit
        /// under its lock (`DocumentStore.append(locking:after:claiming:_:)`), renewed while others'
        /// events keep arriving under it. Default 2 seconds.
        public var lockedCommitPeriod: Duration
        /// How instances sharing `store` see each other's sessions in presence; nil: presence is
        /// this instance's sessions only.
        public var presenceBus: (any PresenceBus)?
        /// Document types declared by JSON Schemas (`--types DIR`): documents whose names their
        /// patterns match are of that type; every other document is of the engine's `Model`.
        public var types: DeclaredTypes

        public init(
            store: any DocumentStore,
            retainedEvents: Int = 1000,
            retainedEventBytes: Int = 8 << 20,
            limits: DocumentLimits = DocumentLimits(),
            maximumDocuments: Int = 100,
            idleUnloadDelay: Duration = .seconds(120),
            lockedCommitPeriod: Duration = .seconds(2),
            presenceBus: (any PresenceBus)? = nil,
            types: DeclaredTypes = .none
        ) {
            self.types = types
            self.store = store
            self.retainedEvents = max(0, retainedEvents)
            self.retainedEventBytes = max(0, retainedEventBytes)
            self.limits = limits
            self.maximumDocuments = max(1, maximumDocuments)
            self.idleUnloadDelay = idleUnloadDelay
            self.lockedCommitPeriod = lockedCommitPeriod
            self.presenceBus = presenceBus
        }
    }
}
