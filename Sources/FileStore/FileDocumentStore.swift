import Glibc
import JSONPatch
import Logging
import Synchronization
import SyncEngine
import SystemSupport

/// The embedded store: one directory per document under `dataDirectory` (see `DocumentFiles`),
/// read and written on a `StorageThread` of its own because fsync on an SD card can take tens of
/// milliseconds: the async methods hand their work to it, in order, and await it. Commits queue
/// there while an fsync runs, which is what batches a document's actions (its actor builds the
/// next batch meanwhile).
///
/// Retention: once a log holds `retainedEvents + snapshotInterval` events, `maintain` has the
/// compaction thread write the state before the newest `retainedEvents` events as the snapshot
/// and those events as the compacted log; the storage thread then appends what came meanwhile
/// to it and renames it over the log, so commits wait only for that short swap.
public final class FileDocumentStore: DocumentStore {
    /// Runs every read and write of the files, one at a time.
    private let thread = StorageThread()
    /// Builds snapshots, so that the storage thread only appends and swaps files.
    private let compactionThread = StorageThread()
    /// It alone writes its files, and lists them all at start-up.
    public let capabilities: StoreCapabilities = [.listsDocumentsAtStart]
    public let configuration: FileStoreConfiguration
    private var dataDirectory: String { configuration.dataDirectory }
    private var retainedEvents: Int { configuration.retainedEvents }
    private var snapshotInterval: Int { configuration.snapshotInterval }
    private var io: any StorageIO { configuration.storage }
    private let logger: Logger
    private let logs = Mutex<[DocumentName: DocumentLog]>([:])
    private let schemas = Mutex<StoreSchemas?>(nil)

    public init(configuration: FileStoreConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    // MARK: DocumentStore: each call runs on `thread`

    public func start(
        initialState: JSONValue, schemas: StoreSchemas, onChange: @escaping @Sendable (StoreChange) -> Void
    ) async throws(StorageError) {
        try await thread.call { () throws(StorageError) in try self.startNow(initialState: initialState, schemas: schemas) }
    }

    public func loadDocuments() async throws(StorageError) -> [StoredDocument] {
        try await thread.call { () throws(StorageError) in try self.loadDocumentsNow() }
    }

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

    /// The file store has no inbox: no entry ever reaches it.
    public func rejectInboxEntry(_ entry: InboxEntry, code: SyncErrorCode, message: String, at version: UInt64) async {}

    /// A failing disk shows in each refused action instead: there is nothing to wait for.
    public var unavailableReason: String? { nil }

    public func maintain(_ name: DocumentName) async -> UInt64? {
        await thread.call { self.maintainNow(name) }
    }

    public func close(_ name: DocumentName) async {
        await thread.perform { self.closeNow(name) }
    }

    /// Waits until the compactions begun so far have swapped their logs: the engine learns of
    /// each at its next commit, so a reader that must see the log compacted (a test, a tool) waits here.
    public func compactionsFinished() async {
        await compactionThread.perform {}
        await thread.perform {}
    }

    public func shutdown() {
        // Compactions under way finish first: their swaps join the storage thread's queue.
        compactionThread.stop()
        thread.stop()
        let open = logs.withLock { logs in
            defer { logs = [:] }
            return Array(logs.values)
        }
        for log in open { log.close() }
    }

    // MARK: On the storage thread

    private func startNow(initialState: JSONValue, schemas: StoreSchemas) throws(StorageError) {
        let initialStates = schemas.initialState
        let current = schemas.current
        // The current schema's initial state is the one the engine already encoded.
        var schemas = schemas
        schemas.initialState = { schema in schema == current ? initialState : initialStates(schema) }
        self.schemas.withLock { [schemas] in $0 = schemas }
        if !configuration.readOnly { try io.createDirectory(dataDirectory) }
    }

    private func loadDocumentsNow() throws(StorageError) -> [StoredDocument] {
        var documents: [StoredDocument] = []
        for entry in try io.listDirectory(dataDirectory).sorted() {
            guard let name = DocumentName(entry), let document = try loadNow(name) else { continue }
            documents.append(document)
        }
        return documents
    }

    private func loadNow(_ name: DocumentName) throws(StorageError) -> StoredDocument? {
        let loaded = try loadFiles(name, repairTornTail: !configuration.readOnly)
        let version = loaded.history.latestVersion
        guard version > 0 else { return nil }
        log(for: name).setEventsInLog(loaded.history.events.count)
        return StoredDocument(
            name: name, version: version, schema: loaded.history.latestSchema, state: loaded.state,
            oldestVersion: loaded.history.baseVersion, recentEvents: loaded.history.events, model: loaded.model)
    }

    private func appendNow(_ commit: StoreCommit) throws(StorageError) -> AppendResult {
        guard !configuration.readOnly else {
            throw StorageError(kind: .io(errno: EROFS), path: dataDirectory, message: "the store was opened read-only")
        }
        // Each is a whole log line, newline included.
        let lines = Array(commit.encodedEvents.joined())
        let log = log(for: commit.name)
        if commit.startVersion == 0, let first = commit.events.first, let model = first.model {
            try writeBaseSnapshot(of: model, schema: first.schema, to: log)
        }
        let duration = try log.append(lines, events: commit.events.count)
        return .committed(duration: duration)
    }

    private func eventsNow(of name: DocumentName, after version: UInt64, limit: Int) throws(StorageError) -> StoredEvents {
        let history = try loadHistory(name)
        let events = history.events.lazy.filter { $0.version > version }.prefix(max(0, limit))
        return StoredEvents(events: Array(events), oldestVersion: history.baseVersion)
    }

    /// A declared type's document starts its files with its version 0 (see `DocumentLog.writeBaseSnapshot`).
    private func writeBaseSnapshot(of model: String, schema: Int, to log: DocumentLog) throws(StorageError) {
        let schemas = schemas.withLock { $0 }
        guard let initial = schemas?.of(model: model)?.initialState(schema) else {
            throw StorageError.corrupt(log.files.snapshotPath, "no initial state is known for type \(model) at schema \(schema)")
        }
        let snapshot: [UInt8]
        do {
            snapshot = try DocumentFiles.encodeSnapshot(version: 0, schema: schema, model: model, state: initial)
        } catch {
            throw StorageError.corrupt(log.files.snapshotPath, "cannot encode the snapshot of version 0: \(error)")
        }
        try log.writeBaseSnapshot(snapshot)
    }

    private func loggedActionsNow(of name: DocumentName, _ keys: [ActionKey]) throws(StorageError) -> [DocumentEvent] {
        let wanted = Set(keys)
        return try loadHistory(name).events.filter { event in ActionKey(event).map(wanted.contains) ?? false }
    }

    private func stateNow(of name: DocumentName, at version: UInt64) throws(StorageError) -> StoredState {
        let history = try loadHistory(name)
        do {
            if let state = try history.state(at: version) { return .available(state, schema: history.schema(at: version)) }
        } catch {
            throw StorageError.corrupt(
                DocumentFiles(dataDirectory: dataDirectory, name: name).logPath,
                "cannot rebuild version \(version): \(error)")
        }
        return .unavailable(oldestVersion: history.baseVersion, latestVersion: history.latestVersion)
    }

    /// Starts a compaction when the log is due one; returns the base of one that finished since.
    private func maintainNow(_ name: DocumentName) -> UInt64? {
        let log = log(for: name)
        let compactedBase = log.takeCompactedBase()
        if let start = log.beginCompaction(threshold: retainedEvents + snapshotInterval) {
            compactionThread.submit { [self] in compact(name, log: log, from: start) }
        }
        return compactedBase
    }

    private func closeNow(_ name: DocumentName) {
        logs.withLock { $0.removeValue(forKey: name) }?.close()
    }

    /// On the compaction thread: folds all but the newest `retainedEvents` of the log's first
    /// `start.length` bytes into a new snapshot and writes it, then has the storage thread swap
    /// the log. Decoding and replaying a large document takes milliseconds; commits do not wait.
    private func compact(_ name: DocumentName, log: DocumentLog, from start: DocumentLog.CompactionStart) {
        let files = log.files
        do throws(StorageError) {
            let bytes = Array((try io.readFile(files.logPath) ?? []).prefix(Int(start.length)))
            let lines = DocumentFiles.splitLines(bytes)
            let folded = lines.count - retainedEvents
            guard folded > 0, lines.allSatisfy(\.terminated) else {
                log.abandonCompaction()
                return
            }
            let schemas = schemas.withLock { $0 } ?? StoreSchemas(current: 0) { _ in nil }
            let loaded = try files.rebuild(
                snapshot: io.readFile(files.snapshotPath), log: bytes, lines: folded, schemas: schemas, io: io,
                repairTornTail: false, logger: logger)
            let base = loaded.history.latestVersion
            let snapshot: [UInt8]
            do {
                snapshot = try DocumentFiles.encodeSnapshot(
                    version: base, schema: loaded.history.latestSchema, model: loaded.model, state: loaded.state)
            } catch {
                throw StorageError.corrupt(files.snapshotPath, "cannot encode the snapshot: \(error)")
            }
            try io.replaceFile(files.snapshotPath, with: snapshot)
            let compacted = try log.writeCompactedLog(Array(bytes[lines[folded].range.lowerBound...]))
            thread.submit { [self] in
                // A document closed meanwhile is not appended to until it opens again, on this
                // thread, after the swap; one opened again has a log of its own to leave alone.
                guard logs.withLock({ $0[name].map { $0 === log } ?? true }) else {
                    io.close(compacted.file)
                    log.abandonCompaction()
                    return
                }
                do throws(StorageError) {
                    try log.finishCompaction(
                        from: start, compacted: compacted, retainedEvents: lines.count - folded, base: base)
                    logger.debug("Compacted the event log", metadata: ["document": "\(name)", "base": "\(base)"])
                } catch {
                    logger.warning(
                        // Before the rename the new snapshot stands beside the old log; after it, a
                        // crash may bring the old log back: either reads as the same history.
                        "Cannot finish swapping in the compacted event log; the files on disk stay consistent",
                        metadata: ["document": "\(name)", "error": "\(error)"])
                }
            }
        } catch {
            log.abandonCompaction()
            logger.warning(
                "Cannot compact the event log; will retry after the next change",
                metadata: ["document": "\(name)", "error": "\(error)"])
        }
    }

    private func loadHistory(_ name: DocumentName) throws(StorageError) -> DocumentHistory {
        try loadFiles(name, repairTornTail: false).history
    }

    private func loadFiles(_ name: DocumentName, repairTornTail: Bool) throws(StorageError) -> LoadedDocument {
        let schemas = schemas.withLock { $0 } ?? StoreSchemas(current: 0) { _ in nil }
        return try DocumentFiles(dataDirectory: dataDirectory, name: name).load(
            schemas: schemas, io: io, repairTornTail: repairTornTail, logger: logger)
    }

    private func log(for name: DocumentName) -> DocumentLog {
        logs.withLock { logs in
            if let log = logs[name] { return log }
            let log = DocumentLog(
                files: DocumentFiles(dataDirectory: dataDirectory, name: name), dataDirectory: dataDirectory, io: io)
            logs[name] = log
            return log
        }
    }
}
