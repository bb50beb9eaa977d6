/// What the file store needs, and nothing the engine needs.
///
/// Retention: every change is appended to `<dataDirectory>/<document>/log.jsonl`. Once the log
/// holds `retainedEvents + snapshotInterval` events, the store writes the state at
/// (latest - `retainedEvents`) to `snapshot.json` and rewrites the log to keep only the
/// `retainedEvents` newest events. So start-up reads one snapshot and at most
/// `retainedEvents + snapshotInterval` events, whatever the document's age, and resume, history,
/// revert and replay reach back at least `retainedEvents` versions.
public struct FileStoreConfiguration: Sendable {
    /// The directory holding one subdirectory per document. Created if missing (unless `readOnly`).
    public var dataDirectory: String
    /// Newest events kept in the log after a compaction. Default 1000.
    public var retainedEvents: Int
    /// Events appended between two compactions. Default 1000.
    public var snapshotInterval: Int
    /// All file access, fsync included, goes through this: `PosixStorageIO` syncs every commit;
    /// tests inject failures, and `PatchsyncBench` measures without fsync, by replacing it.
    public var storage: any StorageIO
    /// Reads without changing any file (`patchsync replay` and `import`): no directory is
    /// created and a torn last log line is skipped, not cut off. Appends are refused.
    public var readOnly: Bool

    public init(
        dataDirectory: String, retainedEvents: Int = 1000, snapshotInterval: Int = 1000,
        storage: any StorageIO = PosixStorageIO(), readOnly: Bool = false
    ) {
        self.dataDirectory = dataDirectory
        self.retainedEvents = max(0, retainedEvents)
        self.snapshotInterval = max(1, snapshotInterval)
        self.storage = storage
        self.readOnly = readOnly
    }
}
