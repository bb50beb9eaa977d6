import JSONPatch

/// A document as a store keeps it, for copying into another store.
public struct ExportedDocument: Sendable {
    public var name: DocumentName
    /// The oldest version the store keeps the successors of (the file store's snapshot; 0 when
    /// it keeps every event) and the state at it.
    public var baseVersion: UInt64
    public var baseState: JSONValue
    /// Every event after the snapshot, in order.
    public var events: [DocumentEvent]
    /// The state after the last event.
    public var state: JSONValue

    public var version: UInt64 { events.last?.version ?? baseVersion }
}

extension SyncEngine {
    /// Every document `store` lists at start-up, as it keeps them, read through the store API
    /// without a running engine (for `patchsync import`; open the file store `readOnly` to
    /// change no file). Starts the store and shuts it down again.
    public static func exportDocuments(from store: any DocumentStore) async throws(SyncEngineError)
        -> [ExportedDocument]
    {
        defer { store.shutdown() }
        var documents: [ExportedDocument] = []
        do throws(StorageError) {
            try await startAlone(store)
            for document in try await store.loadDocuments() where document.version > 0 {
                let name = document.name
                let base = document.oldestVersion
                let kept = try await store.events(of: name, after: base, limit: Int.max)
                guard kept.oldestVersion == base, case .available(let baseState, _) = try await store.state(of: name, at: base)
                else {
                    throw StorageError.corrupt(name.rawValue, "the store no longer keeps version \(base)")
                }
                documents.append(
                    ExportedDocument(
                        name: name, baseVersion: base, baseState: baseState, events: kept.events, state: document.state))
            }
        } catch {
            throw SyncEngineError(error.engineErrorKind, error.description)
        }
        return documents
    }
}
