import JSONPatch
import Logging

/// A document as the file store keeps it, for copying into another store.
public struct ExportedDocument: Sendable {
    public var name: DocumentName
    /// The snapshot's version (0 when there is none) and the state at it.
    public var baseVersion: UInt64
    public var baseState: JSONValue
    /// Every event after the snapshot, in order.
    public var events: [DocumentEvent]
    /// The state after the last event.
    public var state: JSONValue

    public var version: UInt64 { events.last?.version ?? baseVersion }
}

extension SyncEngine {
    /// Every document of a data directory as its files hold it, read without a running engine
    /// and without changing any file (for `patchsync import`).
    public static func exportDocuments(
        dataDirectory: String, storage: any StorageIO = PosixStorageIO(), logger: Logger
    ) throws(SyncEngineError) -> [ExportedDocument] {
        var documents: [ExportedDocument] = []
        do throws(StorageError) {
            for entry in try storage.listDirectory(dataDirectory).sorted() {
                guard let name = DocumentName(entry) else { continue }
                let loaded = try DocumentFiles(dataDirectory: dataDirectory, name: name).load(
                    schemas: StoreSchemas(current: Model.schemaVersion, initialState: initialState(schema:)), io: storage,
                    repairTornTail: false, logger: logger)
                guard loaded.history.latestVersion > 0 else { continue }
                documents.append(
                    ExportedDocument(
                        name: name, baseVersion: loaded.history.baseVersion, baseState: loaded.history.baseState,
                        events: loaded.history.events, state: loaded.state))
            }
        } catch {
            throw SyncEngineError(error.engineErrorKind, error.description)
        }
        return documents
    }
}
