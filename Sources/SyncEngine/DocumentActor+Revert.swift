import JSONPatch
import JSONValueCoding

/// Rebuilding an older version and reverting to it.
extension DocumentActor {
    /// The state at `target` and the schema it is written in, from the store's retained history.
    func rebuild(at target: UInt64) async -> Result<(state: JSONValue, schema: Int), SyncEngineError> {
        guard target <= version else {
            return .failure(
                SyncEngineError(
                    .versionNotAvailable, "version \(target) is newer than the current version \(version)"))
        }
        let rebuilt: (state: JSONValue, schema: Int)
        if target == version {
            rebuilt = (stateJSON, kind.schemaVersion)
        } else {
            let (store, name) = (self.store, self.name)
            switch await Result(awaiting: { () async throws(StorageError) in try await store.state(of: name, at: target) }) {
            case .success(.available(let state, let schema)):
                rebuilt = (state, schema)
            case .success(.unavailable(let oldest, _)):
                return .failure(
                    SyncEngineError(
                        .versionNotAvailable,
                        "version \(target) is older than the retained history, which starts at version \(oldest)"))
            case .failure(let error):
                return .failure(
                    SyncEngineError(
                        error.engineErrorKind, "cannot rebuild version \(target): \(error)"))
            }
        }
        return .success(rebuilt)
    }

    func revert(to target: UInt64, author: String?) async -> Result<UInt64, SyncEngineError> {
        var json: JSONValue
        let schema: Int
        switch await rebuild(at: target) {
        case .success(let rebuilt): (json, schema) = rebuilt
        case .failure(let error): return .failure(error)
        }
        var batch = Batch()
        let newVersion: UInt64
        let previousState = state
        do {
            // A state from before a migration is brought to the model's schema first.
            if schema < kind.schemaVersion {
                json = try kind.migrate(json, from: schema)
                state = try kind.migratedState(json).state
            } else {
                state = try kind.decode(json)
            }
            newVersion = try stage(
                after: nil, actionJSON: ["type": "Revert", "version": .integer(Int64(clamping: target))],
                source: author.map { ActionSource(client: nil, id: nil, digest: nil, name: nil, author: $0) },
                into: &batch)
        } catch {
            state = previousState
            return .failure(SyncEngineError(.invalidState, "cannot revert to version \(target): \(error)"))
        }
        stateIsCurrent = true
        stateIsValidated = false
        switch await commit(&batch) {
        case .failed(let error):
            return .failure(SyncEngineError(.storageUnavailable, "cannot save the revert: \(error)"))
        case .superseded, .inboxEntryTaken:
            // Another writer got there first: the revert is built again on the newer state.
            return await revert(to: target, author: author)
        case .committed:
            return .success(newVersion)
        }
    }
}
