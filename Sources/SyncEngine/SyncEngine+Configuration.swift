extension SyncEngine {
    /// How the engine stores and serves documents.
    ///
    /// Retention policy: every change is appended to `<dataDirectory>/<document>/log.jsonl`.
    /// Once the log holds `retainedEvents + snapshotInterval` events, the engine writes the
    /// state at (latest - `retainedEvents`) to `snapshot.json` and rewrites the log to keep only
    /// the `retainedEvents` newest events. So start-up reads one snapshot and at most
    /// `retainedEvents + snapshotInterval` events, whatever the document's age, and resume,
    /// history, revert and replay reach back at least `retainedEvents` versions.
    public struct Configuration: Sendable {
        /// The directory holding one subdirectory per document. Created if missing.
        public var dataDirectory: String
        /// Newest events kept after compaction: the resume and history window. Default 1000.
        public var retainedEvents: Int
        /// Events appended between two compactions. Default 1000.
        public var snapshotInterval: Int
        /// Deepest nesting accepted in a client message; deeper gets `too_deep`. Default 32.
        public var maximumMessageDepth: Int
        /// All file access goes through this; replace it to inject failures in tests.
        public var storage: any StorageIO

        public init(
            dataDirectory: String,
            retainedEvents: Int = 1000,
            snapshotInterval: Int = 1000,
            maximumMessageDepth: Int = 32,
            storage: any StorageIO = PosixStorageIO()
        ) {
            self.dataDirectory = dataDirectory
            self.retainedEvents = max(0, retainedEvents)
            self.snapshotInterval = max(1, snapshotInterval)
            self.maximumMessageDepth = max(1, maximumMessageDepth)
            self.storage = storage
        }
    }
}
