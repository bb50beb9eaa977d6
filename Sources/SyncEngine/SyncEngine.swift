import JSONPatch
import JSONValueCoding
import Logging
import SyncProtocol
import Synchronization

/// The sync engine: keeps every document of one `DocumentModel`, applies client actions,
/// logs them durably and broadcasts the patches. The transport talks to it through `SessionEngine`;
/// the HTTP layer and CLI use the async methods below.
///
///     let store = FileDocumentStore(configuration: .init(dataDirectory: "./data"), logger: logger)
///     let engine = try await SyncEngine<TodoList>(configuration: .init(store: store), logger: logger)
public final class SyncEngine<Model: DocumentModel>: SessionEngine {
    private struct Registry {
        /// Documents in memory, of the engine's model or of a declared type.
        var documents: [DocumentName: any DocumentHandle] = [:]
        /// Documents in the store that are not in memory, with their latest change.
        var stored: [DocumentName: LatestChange] = [:]
        /// Whether `documents` and `stored` name every document in the store. A shared store lists
        /// them after start-up (`StoreChange.versions`); until then no name is known to be missing.
        var isListed: Bool
        var sessions: [SessionID: (document: any DocumentHandle, link: EngineSession)] = [:]
        var sessionCounts: [DocumentName: Int] = [:]
        /// Other instances' sessions, kept under the same lock as `documents` so that a document
        /// created here starts with them and then receives every later change exactly once.
        var remotePresence: RemotePresence
    }

    public let configuration: Configuration
    private let logger: Logger
    private let metrics = SyncMetrics()
    private let store: any DocumentStore
    private let context: DocumentContext
    private let initialState: JSONValue
    /// The engine's own model's rules, for every document no declared type matches.
    private let kind: DocumentKind<Model>
    /// Each declared type's rules, by type name.
    private let declaredKinds: [String: DocumentKind<DeclaredDocument>]
    private let registry: Mutex<Registry>
    private let presenceBus: (any PresenceBus)?
    private let sessionIDs: SessionIDs
    private let nextSessionID = Atomic<UInt64>(1)

    /// Starts the store and reads every document it lists at start-up, keeping up to
    /// `maximumDocuments` of them in memory (the others load on demand).
    ///
    /// Throws when a document's stored data is damaged (the file store drops a torn last log line
    /// with a warning instead): the error names the file and line. Start-up must not go on then.
    public init(configuration: Configuration, logger: Logger) async throws(SyncEngineError) {
        self.configuration = configuration
        self.logger = logger
        kind = try DocumentKind<Model>()
        initialState = kind.initialJSON
        var declaredKinds: [String: DocumentKind<DeclaredDocument>] = [:]
        for type in configuration.types.types {
            guard type.name != Model.modelName else {
                throw SyncEngineError(
                    .invalidState, "\(type.file): type \(type.name) has the name of the built-in model")
            }
            declaredKinds[type.name] = DocumentKind(declared: type)
        }
        self.declaredKinds = declaredKinds
        presenceBus = configuration.presenceBus
        do throws(StorageError) {
            sessionIDs = SessionIDs(instance: try presenceBus?.join() ?? 0)
        } catch {
            presenceBus?.shutdown()
            throw SyncEngineError(error.engineErrorKind, "cannot join the presence bus: \(error)")
        }
        let remotePresence = RemotePresence(defaultTimeout: presenceBus?.timeout ?? .zero)
        registry = Mutex(Registry(isListed: false, remotePresence: remotePresence))
        store = configuration.store
        context = DocumentContext(
            store: store, retainedEvents: configuration.retainedEvents,
            retainedEventBytes: configuration.retainedEventBytes, limits: configuration.limits,
            idleUnloadDelay: configuration.idleUnloadDelay, lockedCommitPeriod: configuration.lockedCommitPeriod,
            initialState: initialState, builtInModel: Model.modelName,
            metrics: metrics, presenceBus: presenceBus, logger: logger)

        var registry = Registry(
            isListed: store.capabilities.contains(.listsDocumentsAtStart), remotePresence: remotePresence)
        do {
            let types = configuration.types
            let declaredSchemas = declaredKinds.mapValues(\.storeSchemas)
            var schemas = StoreSchemas(current: Model.schemaVersion, initialState: Self.initialState(schema:))
            schemas.declared = { model in declaredSchemas[model] }
            try await store.start(initialState: initialState, schemas: schemas) { [weak self] change in
                self?.handle(change)
            }
            for var loaded in try await store.loadDocuments() {
                let declared = types.type(of: loaded.name).flatMap { declaredKinds[$0.name] }
                do {
                    if let declared {
                        try DocumentMigration.checkModel(of: loaded, kind: declared, builtIn: Model.modelName)
                    } else {
                        try DocumentMigration.checkModel(of: loaded, kind: kind, builtIn: Model.modelName)
                    }
                } catch {
                    // Not opened, and not a reason to stop: every session on it gets the error.
                    context.refusals.logOnce(loaded.name, error, logger: logger)
                    registry.stored[loaded.name] = loaded.latestChange
                    continue
                }
                if let declared, loaded.schema < declared.schemaVersion {
                    try await DocumentMigration.migrate(&loaded, kind: declared, store: store, logger: logger)
                } else if declared == nil, loaded.schema < Model.schemaVersion {
                    try await DocumentMigration.migrate(&loaded, kind: kind, store: store, logger: logger)
                }
                guard registry.documents.count < configuration.maximumDocuments else {
                    let latest = loaded.latestChange
                    registry.stored[loaded.name] = LatestChange(
                        version: latest.version, time: latest.time,
                        title: declared.map { $0.title(loaded.state) } ?? kind.title(loaded.state))
                    continue
                }
                registry.documents[loaded.name] = try makeDocument(loaded.name, .loaded(loaded), in: registry)
                logger.debug(
                    "Loaded document",
                    metadata: [
                        "document": "\(loaded.name)", "model": "\(declared?.modelName ?? Model.modelName)",
                        "version": "\(loaded.version)",
                    ])
            }
        } catch let error as StorageError {
            presenceBus?.shutdown()
            store.shutdown()
            throw SyncEngineError(error.engineErrorKind, error.description)
        } catch let error as SyncEngineError {
            presenceBus?.shutdown()
            store.shutdown()
            throw error
        } catch {
            presenceBus?.shutdown()
            store.shutdown()
            throw SyncEngineError(.invalidState, "\(error)")
        }
        self.registry.withLock { current in
            // A shared store may have listed documents meanwhile (its listener runs already).
            registry.stored.merge(current.stored.filter { registry.documents[$0.key] == nil }) { loaded, _ in loaded }
            registry.isListed = registry.isListed || current.isListed
            current = registry
        }
        presenceBus?.start { [weak self] event in self?.handle(event) }
        // Starts each one's idle timer: nobody may come for it.
        for document in registry.documents.values { document.enqueue(.unloadIfIdle) }
    }

    deinit {
        presenceBus?.shutdown()
        store.shutdown()
    }

    // MARK: SessionEngine

    public func connect(
        document name: DocumentName, since: UInt64?, role: SessionRole, client: ClientID?, author: String?,
        output: any TransportSession
    ) -> SessionID {
        let session = sessionIDs.id(nextSessionID.wrappingAdd(1, ordering: .relaxed).oldValue)
        let link = EngineSession(output: output, role: role, client: client, author: author)
        let admitted = registry.withLock { registry -> Result<any DocumentHandle, SyncEngineError> in
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

    /// PROTOCOL.md: `?since=V` beyond the version of a document never written is a bad request.
    /// (Ahead of a written document the session gets a Full, as before.) Only when certain: not
    /// while the store is unavailable, when the list of documents may be incomplete.
    public func resumeRefusal(forResuming name: DocumentName, since: UInt64) -> String? {
        guard since > 0, unavailableReason == nil else { return nil }
        do {
            _ = try summary(of: name)
            return nil
        } catch {
            guard error.kind == .documentNotFound else { return nil }
            return "since=\(since) is ahead of document '\(name)', which has no versions yet; connect without since"
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

    public var unavailableReason: String? { store.unavailableReason }

    // MARK: Changes from elsewhere

    /// A change committed elsewhere: open documents read what they have not seen; the versions
    /// of the others are noted, so that they are listed and load on demand.
    private func handle(_ change: StoreChange) {
        switch change {
        case .notified(let name, let version):
            metrics.recordNotification()
            // The notice does not carry the event's time: it was committed just now (the next
            // check of the versions gives the exact time).
            note([name: LatestChange(version: version, time: WallClock.milliseconds())], listsAll: false)
        case .versions(let versions):
            note(versions, listsAll: true)
        case .inbox(let entries):
            for entry in entries { deliver(entry) }
        }
    }

    /// Records the versions of documents not in memory; open documents behind them catch up.
    private func note(_ versions: [DocumentName: LatestChange], listsAll: Bool) {
        let open = registry.withLock { registry in
            if listsAll { registry.isListed = true }
            return versions.compactMap { name, latest -> (any DocumentHandle)? in
                if let document = registry.documents[name] { return document }
                // A title read earlier stays until the document is read again: a stale title
                // beats none in a list.
                if latest.version > 0 {
                    registry.stored[name] = LatestChange(
                        version: latest.version, time: latest.time, title: latest.title ?? registry.stored[name]?.title)
                }
                return nil
            }
        }
        for document in open {
            let latest = versions[document.name]?.version ?? 0
            if document.publishedChange.version < latest { document.enqueue(.catchUp(through: latest)) }
        }
    }

    /// Another instance's presence message, or time passing: the documents open here hear of
    /// the changes; an instance heard from for the first time is asked for its roster.
    private func handle(_ event: PresenceBusEvent) {
        let now = ContinuousClock.now
        let effects = registry.withLock { registry in
            let effects =
                switch event {
                case .received(let message): registry.remotePresence.receive(message, now: now)
                case .tick: registry.remotePresence.expire(now: now)
                }
            for case .change(let name, let change) in effects {
                registry.documents[name]?.enqueue(.remotePresence(change))
            }
            return effects
        }
        for case .requestRoster(let instance) in effects { presenceBus?.requestRoster(from: instance) }
    }

    /// Hands an inbox entry to its document, loading or creating it. With `maximumDocuments` in
    /// memory the entry stays pending in the store, and the next sweep offers it again.
    private func deliver(_ entry: InboxEntry) {
        while true {
            let document = registry.withLock { registry in
                try? loadedDocument(entry.document, in: &registry, creating: true)
            }
            guard let document else {
                logger.debug(
                    "Inbox entry waits: too many documents in memory",
                    metadata: ["document": "\(entry.document)", "entry": "\(entry.id)"])
                return
            }
            // Refused when the document was unloaded just now: look it up again.
            if document.enqueue(.inbox(entry)) { return }
        }
    }

    // MARK: HTTP layer and CLI

    /// Every document with its current version and the time of its latest change, sorted by
    /// name: those with at least one change, in memory or not. Loads no document.
    public func documents() async -> [DocumentSummary] {
        let types = configuration.types
        let summaries = latestChanges().map {
            DocumentSummary(
                name: $0.key, version: $0.value.version, changed: $0.value.time, model: types.type(of: $0.key)?.name,
                title: $0.value.title)
        }
        return summaries.sorted { $0.name.rawValue < $1.name.rawValue }
    }

    /// A document's entry of the list, without loading it.
    public func summary(of name: DocumentName) throws(SyncEngineError) -> DocumentSummary {
        let latest = try registry.withLock { registry throws(SyncEngineError) -> LatestChange in
            if let document = registry.documents[name] {
                let latest = document.publishedChange
                if latest.version > 0 { return latest }
            } else if let stored = registry.stored[name] {
                return stored
            }
            throw missing(name, in: registry)
        }
        return DocumentSummary(name: name, version: latest.version, changed: latest.time, title: latest.title)
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
    /// if the state already equals the state at `version`). `author` is recorded with the event.
    public func revert(_ name: DocumentName, to version: UInt64, author: String? = nil) async throws(SyncEngineError)
        -> UInt64
    {
        try await perform(on: name) { reply in .revert(to: version, author: author, reply) }
    }

    /// The counters for a metrics endpoint.
    public func metricsSnapshot() -> SyncMetrics.Snapshot {
        metrics.snapshot(
            documentVersions: latestChanges().mapValues(\.version), documentsLoaded: registry.withLock { $0.documents.count },
            databaseUp: store.capabilities.contains(.reportsReachability) ? store.unavailableReason == nil : nil, presenceBus: presenceBus?.metrics)
    }

    /// Finishes queued work, closes the store's files or connections and stops its thread.
    /// Call after the transport has stopped delivering messages.
    public func shutdown() async {
        let documents = registry.withLock { Array($0.documents.values) }
        for document in documents {
            await withCheckedContinuation { continuation in
                if !document.enqueue(.close({ continuation.resume() })) { continuation.resume() }
            }
        }
        presenceBus?.shutdown()
        store.shutdown()
    }

    /// The state of a document at `version` (nil: the latest), read from `store` without a
    /// running engine (for `patchsync replay`; open the file store `readOnly` to change no file).
    /// Starts the store and shuts it down again.
    public static func replay(from store: any DocumentStore, document name: DocumentName, to version: UInt64?)
        async throws(SyncEngineError) -> DocumentState
    {
        defer { store.shutdown() }
        let latest: StoredDocument?
        do throws(StorageError) {
            try await startAlone(store)
            latest = try await store.load(name)
        } catch {
            throw SyncEngineError(error.engineErrorKind, error.description)
        }
        guard let latest, latest.version > 0 else {
            throw SyncEngineError(.documentNotFound, "no document \"\(name)\" in the store")
        }
        let target = version ?? latest.version
        if target == latest.version { return DocumentState(version: target, state: latest.state) }
        let stored: StoredState
        do throws(StorageError) {
            stored = try await store.state(of: name, at: target)
        } catch {
            throw SyncEngineError(error.engineErrorKind, error.description)
        }
        switch stored {
        case .available(let state, _):
            return DocumentState(version: target, state: state)
        case .unavailable(let oldest, let newest):
            throw SyncEngineError(
                .versionNotAvailable, "version \(target) is not available: the store keeps versions \(oldest) to \(newest)")
        }
    }

    /// Starts a store that no engine runs on, with this model's schemas: for reading it.
    static func startAlone(_ store: any DocumentStore) async throws(StorageError) {
        let initial = initialState(schema: Model.schemaVersion) ?? .null
        try await store.start(
            initialState: initial, schemas: StoreSchemas(current: Model.schemaVersion, initialState: initialState(schema:))
        ) { _ in }
    }

    // MARK: Helpers

    /// Runs a request on a document, loading it if it is in the store but not in memory.
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

    /// The document in memory, brought in from the store (or created, if `creating`) when needed
    /// and `maximumDocuments` allows. A shared store may hold a document this instance has not
    /// seen yet (another instance wrote it): a new one is then read from the store before use.
    private func loadedDocument(_ name: DocumentName, in registry: inout Registry, creating: Bool)
        throws(SyncEngineError) -> any DocumentHandle
    {
        if let document = registry.documents[name] { return document }
        let stored = registry.stored[name]
        guard stored != nil || creating else { throw missing(name, in: registry) }
        guard registry.documents.count < configuration.maximumDocuments else {
            throw SyncEngineError(.tooManyDocuments, tooManyDocumentsMessage)
        }
        let opening: Opening =
            if let stored {
                .stored(stored)
            } else if store.capabilities.contains(.otherWriters) {
                .stored(LatestChange(version: 0, time: nil))
            } else {
                .new
            }
        let document = try makeDocument(name, opening, in: registry)
        registry.stored[name] = nil
        registry.documents[name] = document
        return document
    }

    /// Why `name`, in neither map, is not there: it does not exist, or the store has not listed
    /// its documents yet (the database was unreachable since start-up).
    private func missing(_ name: DocumentName, in registry: Registry) -> SyncEngineError {
        guard registry.isListed else {
            return SyncEngineError(
                .storageUnavailable,
                "cannot tell whether document \"\(name)\" exists: the store has not listed its documents yet"
                    + (store.unavailableReason.map { " (\($0))" } ?? ""))
        }
        return SyncEngineError(.documentNotFound, "no document named \"\(name)\"")
    }

    private var tooManyDocumentsMessage: String {
        "the server holds its limit of \(configuration.maximumDocuments) documents in memory; try again later"
    }

    /// Where a document's content comes from when it is put in memory.
    private enum Opening {
        /// Nothing stored: version 0, the initial state of its model.
        case new
        /// Read already (at start-up).
        case loaded(StoredDocument)
        /// In the store at this version, read on first use.
        case stored(LatestChange)
    }

    /// A document of the model its name has: a declared type's, or the engine's own.
    private func makeDocument(_ name: DocumentName, _ opening: Opening, in registry: Registry)
        throws(SyncEngineError) -> any DocumentHandle
    {
        if let type = configuration.types.type(of: name), let declared = declaredKinds[type.name] {
            return try makeDocument(name, kind: declared, opening, in: registry)
        }
        return try makeDocument(name, kind: kind, opening, in: registry)
    }

    private func makeDocument<M: DocumentModel>(
        _ name: DocumentName, kind: DocumentKind<M>, _ opening: Opening, in registry: Registry
    ) throws(SyncEngineError) -> DocumentActor<M> {
        let content: DocumentActor<M>.Content
        switch opening {
        case .new:
            content = .loaded(
                kind.initialState,
                StoredDocument(
                    name: name, version: 0, schema: kind.schemaVersion, state: kind.initialJSON, oldestVersion: 0,
                    recentEvents: []))
        case .loaded(let loaded):
            do {
                content = .loaded(try kind.decode(loaded.state), loaded)
            } catch {
                throw SyncEngineError(
                    .corruptData,
                    "\(loaded.name): the state at version \(loaded.version) is not a valid \(kind.modelName): \(error)")
            }
        case .stored(let latest):
            content = .stored(latest)
        }
        return DocumentActor(
            name: name, kind: kind, content: content, context: context,
            remotePresence: registry.remotePresence.entries(of: name)
        ) { [weak self] document in
            self?.unload(document) ?? false
        }
    }

    /// Takes an idle document out of memory, remembering its version if it is in the store. Refused
    /// while a session is routed to it or work is queued for it.
    private func unload(_ document: any DocumentHandle) -> Bool {
        registry.withLock { registry in
            let name = document.name
            guard registry.documents[name] === document, registry.sessionCounts[name] == nil,
                document.retireIfIdle()
            else { return false }
            registry.documents[name] = nil
            let latest = document.publishedChange
            if latest.version > 0 { registry.stored[name] = latest }
            return true
        }
    }

    /// The latest change of every document with at least one.
    private func latestChanges() -> [DocumentName: LatestChange] {
        registry.withLock { registry in
            var changes = registry.stored
            for (name, document) in registry.documents {
                let latest = document.publishedChange
                if latest.version > 0 { changes[name] = latest }
            }
            return changes
        }
    }

    /// The initial state JSON at `schema`, where a log written at that schema starts.
    @Sendable static func initialState(schema: Int) -> JSONValue? {
        try? Model.initialStateJSON(schema: schema)
    }
}
