import JSONPatch
import JSONValueCoding
import Logging

/// Brings a document stored at an older schema up to its model's, at start-up, as an event of
/// its own (`{"type":"Migrate","from":S,"to":T}`) appended to the log: history stays a true
/// record, and every client that resumes sees the migration as a Patch.
enum DocumentMigration<Model: DocumentModel> {
    static func migrate(
        _ loaded: inout LoadedDocument, files: DocumentFiles, dataDirectory: String, io: any StorageIO,
        metrics: SyncMetrics, logger: Logger
    ) throws(SyncEngineError) {
        let from = loaded.history.latestSchema
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
                "\(files.logPath): the state migrated from schema \(from) to \(to) is not a valid \(Model.self): \(error)")
        }
        let event = DocumentEvent(
            version: loaded.history.latestVersion + 1, time: WallClock.milliseconds(), schema: to,
            action: ["type": "Migrate", "from": .integer(Int64(from)), "to": .integer(Int64(to))], ops: ops)
        let log = DocumentLog(files: files, dataDirectory: dataDirectory, io: io, metrics: metrics)
        defer { log.close() }
        do {
            try log.append(event.encodedLine())
        } catch let error as StorageError {
            throw SyncEngineError(error.engineErrorKind, "cannot log the migration: \(error)")
        } catch {
            throw SyncEngineError(.invalidState, "\(files.logPath): the migration cannot be encoded: \(error)")
        }
        loaded.history.append([event])
        loaded.state = json
        logger.notice(
            "Migrated a document to the model's schema",
            metadata: ["file": "\(files.logPath)", "from": "\(from)", "to": "\(to)", "version": "\(event.version)"])
    }
}
