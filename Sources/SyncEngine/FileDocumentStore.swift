import JSONPatch
import Logging
import Synchronization

/// The embedded store: one directory per document under `dataDirectory` (see `DocumentFiles`),
/// written on a dedicated `StorageThread` because fsync on an SD card can take tens of milliseconds.
///
/// Retention: once a log holds `retainedEvents + snapshotInterval` events, `maintain` has the
/// compaction thread write the state before the newest `retainedEvents` events as the snapshot,
/// then the storage thread cuts the log down to those and what was appended meanwhile.
final class FileDocumentStore: DocumentStore {
    let thread = StorageThread()
    /// Builds snapshots, so that the storage thread only appends and swaps files.
    private let compactionThread = StorageThread()
    let isShared = false
    private let dataDirectory: String
    private let retainedEvents: Int
    private let snapshotInterval: Int
    private let io: any StorageIO
    private let logger: Logger
    private let logs = Mutex<[DocumentName: DocumentLog]>([:])
    private let schemas = Mutex<StoreSchemas?>(nil)

    init(dataDirectory: String, retainedEvents: Int, snapshotInterval: Int, io: any StorageIO, logger: Logger) {
        self.dataDirectory = dataDirectory
        self.retainedEvents = retainedEvents
        self.snapshotInterval = snapshotInterval
        self.io = io
        self.logger = logger
    }

    func start(initialState: JSONValue, schemas: StoreSchemas, onChange: @escaping @Sendable (StoreChange) -> Void)
        throws(StorageError)
    {
        let initialStates = schemas.initialState
        let current = schemas.current
        // The current schema's initial state is the one the engine already encoded.
        var schemas = schemas
        schemas.initialState = { schema in schema == current ? initialState : initialStates(schema) }
        self.schemas.withLock { [schemas] in $0 = schemas }
        try io.createDirectory(dataDirectory)
    }

    func loadDocuments() throws(StorageError) -> [StoredDocument] {
        var documents: [StoredDocument] = []
        for entry in try io.listDirectory(dataDirectory).sorted() {
            guard let name = DocumentName(entry), let document = try load(name) else { continue }
            documents.append(document)
        }
        return documents
    }

    func load(_ name: DocumentName) throws(StorageError) -> StoredDocument? {
        let loaded = try loadFiles(name, repairTornTail: true)
        let version = loaded.history.latestVersion
        guard version > 0 else { return nil }
        log(for: name).setEventsInLog(loaded.history.events.count)
        return StoredDocument(
            name: name, version: version, schema: loaded.history.latestSchema, state: loaded.state,
            oldestVersion: loaded.history.baseVersion, recentEvents: loaded.history.events, model: loaded.model)
    }

    func append(_ commit: StoreCommit) throws(StorageError) -> AppendResult {
        // Each is a whole log line, newline included.
        let lines = Array(commit.encodedEvents.joined())
        let log = log(for: commit.name)
        if commit.startVersion == 0, let first = commit.events.first, let model = first.model {
            try writeBaseSnapshot(of: model, schema: first.schema, to: log)
        }
        let duration = try log.append(lines, events: commit.events.count)
        return .committed(duration: duration)
    }

    func events(of name: DocumentName, after version: UInt64, limit: Int) throws(StorageError) -> StoredEvents {
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

    func loggedActions(of name: DocumentName, _ keys: [ActionKey]) throws(StorageError) -> [DocumentEvent] {
        let wanted = Set(keys)
        return try loadHistory(name).events.filter { event in ActionKey(event).map(wanted.contains) ?? false }
    }

    func state(of name: DocumentName, at version: UInt64) throws(StorageError) -> StoredState {
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

    /// The file store has no inbox: no entry ever reaches it.
    func rejectInboxEntry(_ entry: InboxEntry, code: SyncErrorCode, message: String, at version: UInt64) {}

    /// A failing disk shows in each refused action instead: there is nothing to wait for.
    var unavailableReason: String? { nil }

    /// Starts a compaction when the log is due one; returns the base of one that finished since.
    func maintain(_ name: DocumentName) -> UInt64? {
        let log = log(for: name)
        let compactedBase = log.takeCompactedBase()
        if let start = log.beginCompaction(threshold: retainedEvents + snapshotInterval) {
            compactionThread.submit { [self] in compact(name, log: log, from: start) }
        }
        return compactedBase
    }

    func close(_ name: DocumentName) {
        logs.withLock { $0.removeValue(forKey: name) }?.close()
    }

    func shutdown() {
        // Compactions under way finish first: their swaps join the storage thread's queue.
        compactionThread.stop()
        thread.stop()
        let open = logs.withLock { logs in
            defer { logs = [:] }
            return Array(logs.values)
        }
        for log in open { log.close() }
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
            let retainedLog = Array(bytes[lines[folded].range.lowerBound...])
            thread.submit { [self] in
                // A document closed meanwhile is not appended to until it opens again, on this
                // thread, after the swap; one opened again has a log of its own to leave alone.
                guard logs.withLock({ $0[name].map { $0 === log } ?? true }) else {
                    log.abandonCompaction()
                    return
                }
                do throws(StorageError) {
                    try log.finishCompaction(
                        from: start, retainedLog: retainedLog, retainedEvents: lines.count - folded, base: base)
                    logger.debug("Compacted the event log", metadata: ["document": "\(name)", "base": "\(base)"])
                } catch {
                    logger.warning(
                        "Cannot swap in the compacted event log; the snapshot stands beside the old log",
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
