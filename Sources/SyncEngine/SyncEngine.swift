import JSONPatch
import JSONValueCoding
import Logging
import Synchronization

/// The sync engine: keeps every document of one `DocumentModel`, applies client actions,
/// logs them durably and broadcasts the patches. The transport talks to it through `SessionEngine`;
/// the HTTP layer and CLI use the async methods below.
///
///     let engine = try SyncEngine<TodoList>(
///         configuration: .init(dataDirectory: "./data"), logger: logger)
public final class SyncEngine<Model: DocumentModel>: SessionEngine {
    private struct Registry {
        /// Documents in memory.
        var documents: [DocumentName: DocumentActor<Model>] = [:]
        /// Documents on disk that are not in memory, with their version.
        var stored: [DocumentName: UInt64] = [:]
        var sessions: [SessionID: (document: DocumentActor<Model>, link: EngineSession)] = [:]
        var sessionCounts: [DocumentName: Int] = [:]
    }

    public let configuration: Configuration
    private let logger: Logger
    private let metrics = SyncMetrics()
    private let storageThread = StorageThread()
    private let context: DocumentContext
    private let initialState: JSONValue
    private let registry = Mutex(Registry())
    private let nextSessionID = Atomic<UInt64>(1)

    /// Creates the data directory if needed and reads every document in it, keeping up to
    /// `maximumDocuments` of them in memory (the others load on demand).
    ///
    /// Throws when a document's files are damaged (other than a torn last log line, which is
    /// dropped with a warning): the error names the file and line. Start-up must not go on then.
    public init(configuration: Configuration, logger: Logger) throws(SyncEngineError) {
        self.configuration = configuration
        self.logger = logger
        do {
            try Model.checkMigrations()
            initialState = try Self.encodeInitialState()
        } catch {
            storageThread.stop()
            throw error
        }
        context = DocumentContext(
            dataDirectory: configuration.dataDirectory, retainedEvents: configuration.retainedEvents,
            snapshotInterval: configuration.snapshotInterval, limits: configuration.limits,
            idleUnloadDelay: configuration.idleUnloadDelay, initialState: initialState,
            storage: configuration.storage, storageThread: storageThread, metrics: metrics, logger: logger)

        let storage = configuration.storage
        var registry = Registry()
        do {
            try storage.createDirectory(configuration.dataDirectory)
            for entry in try storage.listDirectory(configuration.dataDirectory).sorted() {
                guard let name = DocumentName(entry) else { continue }
                let files = DocumentFiles(dataDirectory: configuration.dataDirectory, name: name)
                var loaded = try files.load(
                    initialState: Self.initialState(schema:), maximumSchema: Model.schemaVersion, io: storage,
                    repairTornTail: true, logger: logger)
                guard loaded.history.latestVersion > 0 else { continue }
                if loaded.history.latestSchema < Model.schemaVersion {
                    try DocumentMigration<Model>.migrate(
                        &loaded, files: files, dataDirectory: configuration.dataDirectory, io: storage, metrics: metrics,
                        logger: logger)
                }
                let state: Model.State
                do {
                    state = try JSONValueDecoder().decode(Model.State.self, from: loaded.state)
                } catch {
                    throw StorageError.corrupt(
                        files.logPath,
                        "the state at version \(loaded.history.latestVersion) is not a valid \(Model.self): \(error)")
                }
                guard registry.documents.count < configuration.maximumDocuments else {
                    registry.stored[name] = loaded.history.latestVersion
                    continue
                }
                registry.documents[name] = makeDocument(name, .loaded(state, loaded))
                logger.debug(
                    "Loaded document",
                    metadata: ["document": "\(name)", "version": "\(loaded.history.latestVersion)"])
            }
        } catch let error as StorageError {
            storageThread.stop()
            throw SyncEngineError(error.engineErrorKind, error.description)
        } catch let error as SyncEngineError {
            storageThread.stop()
            throw error
        } catch {
            storageThread.stop()
            throw SyncEngineError(.invalidState, "\(error)")
        }
        self.registry.withLock { $0 = registry }
        // Starts each one's idle timer: nobody may come for it.
        for document in registry.documents.values { document.enqueue(.unloadIfIdle) }
    }

    deinit {
        storageThread.stop()
    }

    // MARK: SessionEngine

    public func connect(
        document name: DocumentName, since: UInt64?, role: SessionRole, client: ClientID?, output: any TransportSession
    ) -> SessionID {
        let session = SessionID(rawValue: nextSessionID.wrappingAdd(1, ordering: .relaxed).oldValue)
        let link = EngineSession(output: output, role: role, client: client)
        let admitted = registry.withLock { registry -> Result<DocumentActor<Model>, SyncEngineError> in
            Result { () throws(SyncEngineError) in
                let document = try loadedDocument(name, in: &registry, creating: true)
                registry.sessions[session] = (document, link)
                registry.sessionCounts[name, default: 0] += 1
                return document
            }
        }
        switch admitted {
        case .success(let document):
            // Cannot be refused: a document with a session is never unloaded.
            document.enqueue(.connect(session, since: since, link))
        case .failure(let error):
            metrics.recordRejected(.tooManyDocuments)
            output.send(ServerMessage.error(id: nil, code: .tooManyDocuments, message: error.message))
            output.close(.tryAgainLater, reason: "too many documents")
        }
        return session
    }

    /// Why a session on `name` would be refused now, if it would: a transport asks before
    /// accepting the connection (HTTP 503 on the WebSocket upgrade).
    public func refusal(forConnectingTo name: DocumentName) -> SessionRefusal? {
        registry.withLock { registry in
            registry.documents[name] == nil && registry.documents.count >= configuration.maximumDocuments
                ? SessionRefusal(.tooManyDocuments, tooManyDocumentsMessage) : nil
        }
    }

    public func receive(_ message: IncomingMessage, from session: SessionID) {
        let route = registry.withLock { $0.sessions[session] }
        route?.document.enqueue(.message(session, message))
    }

    public func refuse(_ message: IncomingMessage, from session: SessionID, _ refusal: MessageRefusal) {
        let route = registry.withLock { $0.sessions[session] }
        route?.document.enqueue(.refusal(session, message, refusal))
    }

    public func disconnect(_ session: SessionID) {
        let route = registry.withLock { registry in
            let route = registry.sessions.removeValue(forKey: session)
            if let name = route?.document.name {
                let remaining = registry.sessionCounts[name, default: 1] - 1
                registry.sessionCounts[name] = remaining > 0 ? remaining : nil
            }
            return route
        }
        guard let route else { return }
        route.link.close()
        route.document.enqueue(.disconnect(session))
    }

    // MARK: HTTP layer and CLI

    /// Every document with its current version, sorted by name: those with at least one change,
    /// in memory or not.
    public func documents() async -> [DocumentSummary] {
        versions().map { DocumentSummary(name: $0.key, version: $0.value) }.sorted { $0.name.rawValue < $1.name.rawValue }
    }

    /// The current version and state of a document.
    public func state(of name: DocumentName) async throws(SyncEngineError) -> DocumentState {
        try await perform(on: name) { reply in .read(reply) }
    }

    /// The state of a document at `version`, rebuilt from the retained history (the snapshot
    /// and the log after it).
    public func state(of name: DocumentName, at version: UInt64) async throws(SyncEngineError) -> DocumentState {
        try await perform(on: name) { reply in .readVersion(version, reply) }
    }

    /// Up to `limit` retained events with a version above `since`, oldest first.
    public func history(of name: DocumentName, since: UInt64 = 0, limit: Int = 1000) async throws(SyncEngineError)
        -> [DocumentEvent]
    {
        try await historyPage(of: name, since: since, limit: limit).events
    }

    /// As `history(of:since:limit:)`, saying where the retained history starts and whether
    /// events after `since` were compacted away.
    public func historyPage(of name: DocumentName, since: UInt64 = 0, limit: Int = 1000) async throws(SyncEngineError)
        -> HistoryPage
    {
        try await perform(on: name) { reply in .history(since: since, limit: limit, reply) }
    }

    /// Returns the document to its state at `version` by appending a new event
    /// (action `{"type":"Revert","version":V}`), broadcast like any change. History is kept, so
    /// a revert can itself be reverted. Returns the version after the revert (the current one
    /// if the state already equals the state at `version`).
    public func revert(_ name: DocumentName, to version: UInt64) async throws(SyncEngineError) -> UInt64 {
        try await perform(on: name) { reply in .revert(to: version, reply) }
    }

    /// The counters for a metrics endpoint.
    public func metricsSnapshot() -> SyncMetrics.Snapshot {
        metrics.snapshot(documentVersions: versions(), documentsLoaded: registry.withLock { $0.documents.count })
    }

    /// Finishes queued work, closes the log files and stops the storage thread.
    /// Call after the transport has stopped delivering messages.
    public func shutdown() async {
        let documents = registry.withLock { Array($0.documents.values) }
        for document in documents {
            await withCheckedContinuation { continuation in
                if !document.enqueue(.close({ continuation.resume() })) { continuation.resume() }
            }
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
        let loaded: LoadedDocument
        do throws(StorageError) {
            loaded = try files.load(
                initialState: initialState(schema:), maximumSchema: Model.schemaVersion, io: storage,
                repairTornTail: false, logger: logger)
        } catch {
            throw SyncEngineError(error.engineErrorKind, error.description)
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

    /// Runs a request on a document, loading it if it is on disk but not in memory.
    private func perform<T: Sendable>(
        on name: DocumentName, _ work: (@escaping @Sendable (Result<T, SyncEngineError>) -> Void) -> DocumentWork
    ) async throws(SyncEngineError) -> T {
        while true {
            let document = try registry.withLock { registry throws(SyncEngineError) in
                try loadedDocument(name, in: &registry, creating: false)
            }
            let result: Result<T, SyncEngineError>? = await withCheckedContinuation { continuation in
                // Refused when the document was unloaded just now: look it up again.
                if !document.enqueue(work({ continuation.resume(returning: $0) })) {
                    continuation.resume(returning: nil)
                }
            }
            if let result { return try result.get() }
        }
    }

    /// The document in memory, brought in from disk (or created, if `creating`) when needed and
    /// `maximumDocuments` allows.
    private func loadedDocument(_ name: DocumentName, in registry: inout Registry, creating: Bool)
        throws(SyncEngineError) -> DocumentActor<Model>
    {
        if let document = registry.documents[name] { return document }
        let stored = registry.stored[name]
        guard stored != nil || creating else {
            throw SyncEngineError(.documentNotFound, "no document named \"\(name)\"")
        }
        guard registry.documents.count < configuration.maximumDocuments else {
            throw SyncEngineError(.tooManyDocuments, tooManyDocumentsMessage)
        }
        let content: DocumentActor<Model>.Content =
            if let stored { .stored(version: stored) } else {
                .loaded(
                    Model.initialState,
                    LoadedDocument(
                        history: DocumentHistory(baseVersion: 0, baseSchema: Model.schemaVersion, baseState: initialState),
                        state: initialState))
            }
        let document = makeDocument(name, content)
        registry.stored[name] = nil
        registry.documents[name] = document
        return document
    }

    private var tooManyDocumentsMessage: String {
        "the server holds its limit of \(configuration.maximumDocuments) documents in memory; try again later"
    }

    private func makeDocument(_ name: DocumentName, _ content: DocumentActor<Model>.Content) -> DocumentActor<Model> {
        DocumentActor(name: name, content: content, context: context) { [weak self] document in
            self?.unload(document) ?? false
        }
    }

    /// Takes an idle document out of memory, remembering its version if it is on disk. Refused
    /// while a session is routed to it or work is queued for it.
    private func unload(_ document: DocumentActor<Model>) -> Bool {
        registry.withLock { registry in
            let name = document.name
            guard registry.documents[name] === document, registry.sessionCounts[name] == nil,
                document.retireIfIdle()
            else { return false }
            registry.documents[name] = nil
            let version = document.publishedVersion.load(ordering: .acquiring)
            if version > 0 { registry.stored[name] = version }
            return true
        }
    }

    /// The version of every document with at least one change.
    private func versions() -> [DocumentName: UInt64] {
        registry.withLock { registry in
            var versions = registry.stored
            for (name, document) in registry.documents {
                let version = document.publishedVersion.load(ordering: .acquiring)
                if version > 0 { versions[name] = version }
            }
            return versions
        }
    }

    /// The initial state JSON at `schema`, where a log written at that schema starts.
    private static func initialState(schema: Int) -> JSONValue? {
        try? Model.initialStateJSON(schema: schema)
    }

    private static func encodeInitialState() throws(SyncEngineError) -> JSONValue {
        do {
            return try Model.jsonValue(of: Model.initialState)
        } catch {
            throw SyncEngineError(.invalidState, "the initial state of \(Model.self) cannot be encoded: \(error)")
        }
    }
}
