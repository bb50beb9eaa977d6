import JSONPatch
import JSONValueCoding
import Logging
import Synchronization

/// The sync engine: keeps every document of one `DocumentModel`, applies client actions,
/// logs them durably and broadcasts the patches. The transport talks to it through `SyncService`;
/// the HTTP layer and CLI use the async methods below.
///
///     let engine = try SyncEngine<TodoList>(
///         configuration: .init(dataDirectory: "./data"), logger: logger)
public final class SyncEngine<Model: DocumentModel>: SyncService {
    private struct Registry {
        var documents: [DocumentName: DocumentActor<Model>] = [:]
        var sessions: [SessionID: (document: DocumentActor<Model>, link: SessionLink)] = [:]
    }

    public let configuration: Configuration
    private let logger: Logger
    private let metrics = SyncMetrics()
    private let storageThread = StorageThread()
    private let context: DocumentContext
    private let initialState: JSONValue
    private let registry = Mutex(Registry())
    private let nextSessionID = Atomic<UInt64>(1)

    /// Creates the data directory if needed and loads every document in it.
    ///
    /// Throws when a document's files are damaged (other than a torn last log line, which is
    /// dropped with a warning): the error names the file and line. Start-up must not go on then.
    public init(configuration: Configuration, logger: Logger) throws(SyncEngineError) {
        self.configuration = configuration
        self.logger = logger
        initialState = try Self.encodeInitialState()
        context = DocumentContext(
            dataDirectory: configuration.dataDirectory, retainedEvents: configuration.retainedEvents,
            snapshotInterval: configuration.snapshotInterval,
            maximumMessageDepth: configuration.maximumMessageDepth, storage: configuration.storage,
            storageThread: storageThread, metrics: metrics, logger: logger)

        let storage = configuration.storage
        var documents: [DocumentName: DocumentActor<Model>] = [:]
        do throws(StorageError) {
            try storage.createDirectory(configuration.dataDirectory)
            for entry in try storage.listDirectory(configuration.dataDirectory).sorted() {
                guard let name = DocumentName(entry) else { continue }
                let files = DocumentFiles(dataDirectory: configuration.dataDirectory, name: name)
                let loaded = try files.load(
                    initialState: initialState, io: storage, repairTornTail: true, logger: logger)
                guard loaded.history.latestVersion > 0 else { continue }
                let state: Model.State
                do {
                    state = try JSONValueDecoder().decode(Model.State.self, from: loaded.state)
                } catch {
                    throw StorageError.corrupt(
                        files.logPath,
                        "the state at version \(loaded.history.latestVersion) is not a valid \(Model.self): \(error)")
                }
                documents[name] = DocumentActor(name: name, state: state, loaded: loaded, context: context)
                logger.debug(
                    "Loaded document",
                    metadata: ["document": "\(name)", "version": "\(loaded.history.latestVersion)"])
            }
        } catch {
            storageThread.stop()
            throw SyncEngineError(error.kind == .corrupt ? .corruptData : .storageUnavailable, error.description)
        }
        registry.withLock { $0.documents = documents }
    }

    deinit {
        storageThread.stop()
    }

    // MARK: SyncService

    public func connect(
        document name: DocumentName, since: UInt64?, role: SessionRole, output: any SessionOutput
    ) -> SessionID {
        let session = SessionID(rawValue: nextSessionID.wrappingAdd(1, ordering: .relaxed).oldValue)
        let link = SessionLink(output: output, role: role)
        let document = registry.withLock { registry in
            let document = registry.documents[name] ?? makeDocument(name)
            registry.documents[name] = document
            registry.sessions[session] = (document, link)
            return document
        }
        document.enqueue(.connect(session, since: since, link))
        return session
    }

    public func receive(_ message: IncomingMessage, from session: SessionID) {
        let route = registry.withLock { $0.sessions[session] }
        route?.document.enqueue(.message(session, message))
    }

    public func disconnect(_ session: SessionID) {
        guard let route = registry.withLock({ $0.sessions.removeValue(forKey: session) }) else { return }
        route.link.close()
        route.document.enqueue(.disconnect(session))
    }

    // MARK: HTTP layer and CLI

    /// Every document with its current version, sorted by name.
    public func documents() async -> [DocumentSummary] {
        registry.withLock { $0.documents.values }
            .map { DocumentSummary(name: $0.name, version: $0.publishedVersion.load(ordering: .acquiring)) }
            .sorted { $0.name.rawValue < $1.name.rawValue }
    }

    /// The current version and state of a document.
    public func state(of name: DocumentName) async throws(SyncEngineError) -> DocumentState {
        let document = try existingDocument(name)
        return await withCheckedContinuation { document.enqueue(.read($0)) }
    }

    /// Up to `limit` retained events with a version above `since`, oldest first.
    public func history(of name: DocumentName, since: UInt64 = 0, limit: Int = 1000) async throws(SyncEngineError)
        -> [DocumentEvent]
    {
        let document = try existingDocument(name)
        return await withCheckedContinuation { document.enqueue(.history(since: since, limit: limit, $0)) }
    }

    /// Returns the document to its state at `version` by appending a new event
    /// (action `{"type":"Revert","version":V}`), broadcast like any change. History is kept, so
    /// a revert can itself be reverted. Returns the version after the revert (the current one
    /// if the state already equals the state at `version`).
    public func revert(_ name: DocumentName, to version: UInt64) async throws(SyncEngineError) -> UInt64 {
        let document = try existingDocument(name)
        let result = await withCheckedContinuation { document.enqueue(.revert(to: version, $0)) }
        return try result.get()
    }

    /// The counters for a metrics endpoint.
    public func metricsSnapshot() -> SyncMetrics.Snapshot {
        let documents = registry.withLock { $0.documents }
        var versions: [DocumentName: UInt64] = [:]
        for (name, document) in documents {
            versions[name] = document.publishedVersion.load(ordering: .acquiring)
        }
        return metrics.snapshot(documentVersions: versions)
    }

    /// Finishes queued work, closes the log files and stops the storage thread.
    /// Call after the transport has stopped delivering messages.
    public func shutdown() async {
        let documents = registry.withLock { Array($0.documents.values) }
        for document in documents {
            await withCheckedContinuation { document.enqueue(.close($0)) }
        }
        storageThread.stop()
    }

    /// The state of a document at `version` (nil: the latest), read from the data directory
    /// without a running engine and without changing any file (for `patchsync replay`).
    public static func replay(
        dataDirectory: String, document name: DocumentName, to version: UInt64?,
        storage: any StorageIO = PosixStorageIO(), logger: Logger
    ) throws(SyncEngineError) -> DocumentState {
        let files = DocumentFiles(dataDirectory: dataDirectory, name: name)
        let initialState = try encodeInitialState()
        let loaded: LoadedDocument
        do throws(StorageError) {
            loaded = try files.load(
                initialState: initialState, io: storage, repairTornTail: false, logger: logger)
        } catch {
            throw SyncEngineError(error.kind == .corrupt ? .corruptData : .storageUnavailable, error.description)
        }
        let history = loaded.history
        guard history.latestVersion > 0 else {
            throw SyncEngineError(.documentNotFound, "no document \"\(name)\" in \(dataDirectory)")
        }
        let target = version ?? history.latestVersion
        let state: JSONValue?
        do {
            state = try history.state(at: target)
        } catch {
            throw SyncEngineError(.corruptData, "\(files.logPath): cannot rebuild version \(target): \(error)")
        }
        guard let state else {
            throw SyncEngineError(
                .versionNotAvailable,
                "version \(target) is not available: the log holds versions \(history.baseVersion) to \(history.latestVersion)"
            )
        }
        return DocumentState(version: target, state: state)
    }

    // MARK: Helpers

    private func existingDocument(_ name: DocumentName) throws(SyncEngineError) -> DocumentActor<Model> {
        guard let document = registry.withLock({ $0.documents[name] }) else {
            throw SyncEngineError(.documentNotFound, "no document named \"\(name)\"")
        }
        return document
    }

    private func makeDocument(_ name: DocumentName) -> DocumentActor<Model> {
        DocumentActor(
            name: name, state: Model.initialState,
            loaded: LoadedDocument(
                history: DocumentHistory(baseVersion: 0, baseState: initialState), state: initialState),
            context: context)
    }

    private static func encodeInitialState() throws(SyncEngineError) -> JSONValue {
        do {
            return try Model.jsonValue(of: Model.initialState)
        } catch {
            throw SyncEngineError(.invalidState, "the initial state of \(Model.self) cannot be encoded: \(error)")
        }
    }
}
