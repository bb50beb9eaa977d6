import Logging

/// Everything that happens to a document, queued in arrival order and handled one at a time.
enum DocumentWork: Sendable {
    case connect(SessionID, since: UInt64?, SessionLink)
    case message(SessionID, IncomingMessage)
    case disconnect(SessionID)
    case read(CheckedContinuation<DocumentState, Never>)
    case history(since: UInt64, limit: Int, CheckedContinuation<[DocumentEvent], Never>)
    case revert(to: UInt64, CheckedContinuation<Result<UInt64, SyncEngineError>, Never>)
    case close(CheckedContinuation<Void, Never>)
}

/// What the document actor needs from the engine.
struct DocumentContext: Sendable {
    let dataDirectory: String
    let retainedEvents: Int
    let snapshotInterval: Int
    let maximumMessageDepth: Int
    let storage: any StorageIO
    let storageThread: StorageThread
    let metrics: SyncMetrics
    let logger: Logger
}
