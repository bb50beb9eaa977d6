import JSONPatch
import JSONValueCoding
import Logging

/// Brings a document stored at an older schema up to its model's, at start-up, as an event of
/// its own (`{"type":"Migrate","from":S,"to":T}`) appended through the store: history stays a
/// true record, and every client that resumes sees the migration as a Patch.
enum DocumentMigration {
    /// Refuses a document stored as another model than the one its name now has (a declared
    /// type's pattern matches a document written as the Todo list, or as another type): it is
    /// never reinterpreted. `builtIn` names the engine's own model, which stored data leaves unnamed.
    static func checkModel<Model: DocumentModel>(of loaded: StoredDocument, kind: DocumentKind<Model>, builtIn: String)
        throws(SyncEngineError)
    {
        let expected = kind.isDeclared ? kind.modelName : nil
        guard loaded.model != expected else { return }
        let stored = loaded.model.map { "type \($0)" } ?? "the built-in model \(builtIn)"
        let now = kind.isDeclared ? "type \(kind.modelName)" : "the built-in model \(builtIn)"
        throw SyncEngineError(
            .modelMismatch,
            "document \"\(loaded.name)\" was written as \(stored), but its name now makes it \(now); it is not "
                + "opened (rename the document or change the types' patterns)")
    }

    static func migrate<Model: DocumentModel>(
        _ loaded: inout StoredDocument, kind: DocumentKind<Model>, store: any DocumentStore, logger: Logger
    ) async throws(SyncEngineError) {
        let from = loaded.schema
        let to = kind.schemaVersion
        let migrated: JSONValue
        do {
            migrated = try kind.migrate(loaded.state, from: from)
        } catch {
            throw SyncEngineError(.invalidState, "\(loaded.name): \(error.message)")
        }
        let json: JSONValue
        let ops: JSONPatch
        do {
            json = try kind.migratedState(migrated).json
            ops = try JSONPatch.diff(from: loaded.state, to: json)
        } catch {
            throw SyncEngineError(
                .invalidState,
                "\(loaded.name): the state migrated from schema \(from) to \(to) is not a valid \(kind.modelName): \(error)")
        }
        let event = DocumentEvent(
            version: loaded.version + 1, time: WallClock.milliseconds(), schema: to,
            model: kind.isDeclared ? kind.modelName : nil,
            action: ["type": "Migrate", "from": .integer(Int64(from)), "to": .integer(Int64(to))], ops: ops)
        let encoded: [UInt8]
        do {
            encoded = try event.encodedLine()
        } catch {
            throw SyncEngineError(.invalidState, "\(loaded.name): the migration cannot be encoded: \(error)")
        }
        let commit = StoreCommit(
            name: loaded.name, startVersion: loaded.version, events: [event], encodedEvents: [encoded], state: json)
        do throws(StorageError) {
            switch try await store.append(commit) {
            case .committed: break
            case .conflict, .inboxEntryTaken, .repeatedAction:
                // Another instance changed the document meanwhile, so it has migrated it already.
                guard let current = try await store.load(loaded.name) else { return }
                loaded = current
                return
            }
        } catch {
            throw SyncEngineError(error.engineErrorKind, "cannot log the migration: \(error)")
        }
        loaded.version = event.version
        loaded.schema = to
        loaded.state = json
        loaded.recentEvents.append(event)
        logger.notice(
            "Migrated a document to the model's schema",
            metadata: ["document": "\(loaded.name)", "model": "\(kind.modelName)", "from": "\(from)", "to": "\(to)", "version": "\(event.version)"])
    }
}
