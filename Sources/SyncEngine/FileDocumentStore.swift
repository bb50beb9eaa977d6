import JSONPatch
import Logging
import Synchronization

/// The embedded store: one directory per document under `dataDirectory` (see `DocumentFiles`),
/// written on a dedicated `StorageThread` because fsync on an SD card can take tens of milliseconds.
///
/// Retention: once a log holds `retainedEvents + snapshotInterval` events, `maintain` writes the
/// state before the newest `retainedEvents` events as the snapshot and cuts the log down to those.
final class FileDocumentStore: DocumentStore {
    let thread = StorageThread()
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
        self.schemas.withLock {
            $0 = StoreSchemas(current: current) { schema in schema == current ? initialState : initialStates(schema) }
        }
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
            oldestVersion: loaded.history.baseVersion, recentEvents: loaded.history.events)
    }

    func append(_ commit: StoreCommit) throws(StorageError) -> AppendResult {
        // Each is a whole log line, newline included.
        let lines = Array(commit.encodedEvents.joined())
        let duration = try log(for: commit.name).append(lines, events: commit.events.count)
        return .committed(duration: duration)
    }

    func events(of name: DocumentName, after version: UInt64, limit: Int) throws(StorageError) -> StoredEvents {
        let history = try loadHistory(name)
        let events = history.events.lazy.filter { $0.version > version }.prefix(max(0, limit))
        return StoredEvents(events: Array(events), oldestVersion: history.baseVersion)
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

    func maintain(_ name: DocumentName) -> UInt64? {
        let log = log(for: name)
        guard log.eventsInLog >= retainedEvents + snapshotInterval else { return nil }
        do throws(StorageError) {
            let base = try compact(name, log: log)
            logger.debug("Compacted the event log", metadata: ["document": "\(name)", "base": "\(base.map { "\($0)" } ?? "-")"])
            return base
        } catch {
            logger.warning(
                "Cannot compact the event log; will retry after the next change",
                metadata: ["document": "\(name)", "error": "\(error)"])
            return nil
        }
    }

    func close(_ name: DocumentName) {
        logs.withLock { $0.removeValue(forKey: name) }?.close()
    }

    func shutdown() {
        let open = logs.withLock { logs in
            defer { logs = [:] }
            return Array(logs.values)
        }
        for log in open { log.close() }
        thread.stop()
    }

    /// Snapshot of the state before the newest `retainedEvents` events, and the log cut to those;
    /// returns the snapshot's version (nil: nothing to cut).
    private func compact(_ name: DocumentName, log: DocumentLog) throws(StorageError) -> UInt64? {
        let history = try loadHistory(name)
        let excess = history.events.count - retainedEvents
        guard excess > 0 else { return nil }
        let base: JSONValue?
        let snapshot: [UInt8]
        var remaining: [UInt8] = []
        do {
            base = try history.state(at: history.events[excess - 1].version)
            snapshot = try DocumentFiles.encodeSnapshot(
                version: history.events[excess - 1].version, schema: history.events[excess - 1].schema,
                state: base ?? .null)
            for event in history.events[excess...] { remaining.append(contentsOf: try event.encodedLine()) }
        } catch {
            throw StorageError.corrupt(log.files.logPath, "cannot build a snapshot: \(error)")
        }
        try log.compact(snapshot: snapshot, remainingLog: remaining, eventsInLog: retainedEvents)
        return history.events[excess - 1].version
    }

    private func loadHistory(_ name: DocumentName) throws(StorageError) -> DocumentHistory {
        try loadFiles(name, repairTornTail: false).history
    }

    private func loadFiles(_ name: DocumentName, repairTornTail: Bool) throws(StorageError) -> LoadedDocument {
        let schemas = schemas.withLock { $0 } ?? StoreSchemas(current: 0) { _ in nil }
        return try DocumentFiles(dataDirectory: dataDirectory, name: name).load(
            initialState: schemas.initialState, maximumSchema: schemas.current, io: io, repairTornTail: repairTornTail,
            logger: logger)
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
