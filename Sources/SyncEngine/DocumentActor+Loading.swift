import JSONPatch
import JSONValueCoding
import Logging
import SyncProtocol

/// Loading the document from its store, and unloading it when unused.
extension DocumentActor {
    /// Reads the document from the store on its thread, as start-up does.
    func load() async {
        switch await readFromStore() {
        case .success(let loaded):
            // Nothing in the store: a new document.
            let (document, state) =
                loaded
                ?? (
                    StoredDocument(
                        name: name, version: 0, schema: kind.schemaVersion, state: kind.initialJSON,
                        oldestVersion: 0, recentEvents: []),
                    kind.initialState
                )
            take(document, state: state)
            availability = .loaded
            logger.debug(
                "Loaded document", metadata: ["document": "\(name)", "version": "\(version)"])
        case .failure(let error) where error.kind == .modelMismatch:
            context.refusals.logOnce(name, error, logger: logger)
            availability = .failed(error)
        case .failure(let error):
            logger.error(
                "Cannot load the document",
                metadata: ["document": "\(name)", "error": "\(error)"])
            availability = .failed(
                SyncEngineError(error.kind, "cannot load document \"\(name)\": \(error.message)"))
        }
    }

    /// The document as the store has it now with its model state, nil if the store has no change
    /// of it. A document stored at an older schema is migrated first, as start-up does (a store
    /// that loads documents on demand, PostgreSQL, gives it here).
    func readFromStore() async -> Result<(StoredDocument, Model.State)?, SyncEngineError> {
        let (store, name, logger, kind, builtIn) = (self.store, self.name, self.logger, self.kind, context.builtInModel)
        let read = await Result(awaiting: { () async throws(SyncEngineError) -> StoredDocument? in
            let stored: StoredDocument?
            do throws(StorageError) {
                stored = try await store.load(name)
            } catch {
                throw SyncEngineError(error.engineErrorKind, error.description)
            }
            guard var loaded = stored else { return nil }
            try DocumentMigration.checkModel(of: loaded, kind: kind, builtIn: builtIn)
            if loaded.schema < kind.schemaVersion {
                try await DocumentMigration.migrate(&loaded, kind: kind, store: store, logger: logger)
            }
            return loaded
        })
        switch read {
        case .success(nil):
            return .success(nil)
        case .success(let loaded?):
            do {
                return .success((loaded, try kind.decode(loaded.state)))
            } catch {
                return .failure(SyncEngineError(.corruptData, "the state is not a valid \(kind.modelName): \(error)"))
            }
        case .failure(let error):
            return .failure(error)
        }
    }

    /// Takes the store's copy of the document as the current state.
    func take(_ loaded: StoredDocument, state: Model.State) {
        self.state = state
        stateIsCurrent = true
        stateJSON = loaded.state
        stateJSONIsBuilt = false
        stateIsValidated = false
        stateSize = StateSize(of: loaded.state)
        version = loaded.version
        oldestStoredVersion = loaded.oldestVersion
        recent.reset(to: loaded.version)
        recent.seed(with: loaded.recentEvents)
        outcomes.recordLoaded(loaded.recentEvents, latestVersion: loaded.version)
        fullMessages.removeAll()
        publish(changedAt: loaded.latestChange.time)
    }

    /// Answers the work of a document that could not be loaded with `error`. Inbox entries stay
    /// pending in the store, offered again by its next sweep.
    func refuseAll(_ items: [DocumentWork], _ error: SyncEngineError) {
        for item in items {
            switch item {
            case .connect(_, _, let link):
                _ = link.send(
                    ServerMessage.error(
                        id: nil, code: error.kind == .modelMismatch ? .modelMismatch : .storageUnavailable,
                        message: error.message))
                link.output.close(.tryAgainLater, reason: "document cannot be loaded")
            case .read(let reply): reply(.failure(error))
            case .readVersion(_, let reply): reply(.failure(error))
            case .history(_, _, let reply): reply(.failure(error))
            case .revert(_, _, let reply): reply(.failure(error))
            case .close(let reply): reply()
            case .message, .refusal, .disconnect, .remotePresence, .catchUp, .inbox, .unloadIfIdle: break
            }
        }
    }

    /// With no sessions: unloads the document if `now`, or if it has had no work for
    /// `idleUnloadDelay`; otherwise makes sure a later check is scheduled. True once unloaded.
    func unloadIfIdle(now: Bool) async -> Bool {
        let delay = context.idleUnloadDelay
        if now || ContinuousClock.now - lastActivity >= delay {
            guard unload(self) else { return false }
            reportOutcomeMemory(unloaded: true)
            await closeInStore()
            logger.debug("Unloaded document", metadata: ["document": "\(name)"])
            return true
        }
        if !idleCheckScheduled {
            idleCheckScheduled = true
            let wait = delay - (ContinuousClock.now - lastActivity)
            Task { [weak self] in
                try? await Task.sleep(for: wait)
                self?.enqueue(.unloadIfIdle)
            }
        }
        return false
    }

    func closeInStore() async {
        let (store, name) = (self.store, self.name)
        await store.close(name)
    }
}
