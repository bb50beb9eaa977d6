import JSONCodec
import JSONPatch
import SyncEngine

extension PostgresDocumentStore {
    /// Copies a document from the file store, in one transaction: its snapshot, every event after
    /// it and the latest state. Refuses a document that already exists here.
    public func importDocument(_ document: ExportedDocument) throws(StorageError) {
        let encode = { (value: JSONValue) throws(StorageError) -> String in
            do {
                return String(decoding: try JSONCodec.encode(value), as: UTF8.self)
            } catch {
                throw StorageError(kind: .database, path: document.name.rawValue, message: "cannot encode: \(error)")
            }
        }
        let events = try document.events.map { event throws(StorageError) in Array(try encode(event.jsonValue).utf8) }
        let baseState = try encode(document.baseState)
        let state = try encode(document.state)
        // Never run again: a COMMIT whose answer was lost would be refused as "already exists".
        let imported = try withConnection(.never) { connection throws(PostgresError) -> Bool in
            try connection.executeScript("BEGIN")
            do throws(PostgresError) {
                let inserted = try connection.execute(
                    """
                    INSERT INTO \(schema.name).documents (name, version, state, state_version, model)
                    VALUES ($1, $2, $3::jsonb, $2, $4) ON CONFLICT (name) DO NOTHING
                    """, [document.name.rawValue, "\(document.version)", state, document.events.last?.model]
                ).affected
                guard inserted == 1 else {
                    try connection.executeScript("ROLLBACK")
                    return false
                }
                if document.baseVersion > 0 {
                    try connection.execute(
                        "INSERT INTO \(schema.name).snapshots (document, version, state) VALUES ($1, $2, $3::jsonb)",
                        [document.name.rawValue, "\(document.baseVersion)", baseState])
                }
                try connection.execute(schema.insertEvents, [document.name.rawValue, Self.jsonArray(events)])
                try connection.executeScript("COMMIT")
                return true
            } catch {
                try? connection.executeScript("ROLLBACK")
                throw error
            }
        }
        guard imported else {
            throw StorageError(
                kind: .alreadyExists, path: document.name.rawValue,
                message: "document \"\(document.name)\" already exists in the database; it was not changed")
        }
    }
}
