import JSONPatch
import JSONValueCoding
import Logging

/// Brings a document stored at an older schema up to its model's, at start-up, as an event of
/// its own (`{"type":"Migrate","from":S,"to":T}`) appended through the store: history stays a
/// true record, and every client that resumes sees the migration as a Patch.
enum DocumentMigration<Model: DocumentModel> {
    static func migrate(_ loaded: inout StoredDocument, store: any DocumentStore, logger: Logger)
        throws(SyncEngineError)
    {
        let from = loaded.schema
        let to = Model.schemaVersion
        let migrated = try Model.migrate(loaded.state, from: from)
        let json: JSONValue
        let ops: JSONPatch
        do {
            json = try Model.jsonValue(of: JSONValueDecoder().decode(Model.State.self, from: migrated))
            ops = try JSONPatch.diff(from: loaded.state, to: json)
        } catch {
            throw SyncEngineError(
                .invalidState,
                "\(loaded.name): the state migrated from schema \(from) to \(to) is not a valid \(Model.self): \(error)")
        }
        let event = DocumentEvent(
            version: loaded.version + 1, time: WallClock.milliseconds(), schema: to,
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
            switch try store.append(commit) {
            case .committed: break
            case .conflict, .inboxEntryTaken, .repeatedAction:
                // Another instance changed the document meanwhile, so it has migrated it already.
                guard let current = try store.load(loaded.name) else { return }
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
            metadata: ["document": "\(loaded.name)", "from": "\(from)", "to": "\(to)", "version": "\(event.version)"])
    }
}
