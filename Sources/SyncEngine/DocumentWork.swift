import JSONPatch
import Logging

/// Everything that happens to a document, queued in arrival order and handled one at a time.
/// Requests from the HTTP layer carry the closure that takes their answer.
enum DocumentWork: Sendable {
    case connect(SessionID, since: UInt64?, EngineSession)
    case message(SessionID, IncomingMessage)
    case refusal(SessionID, IncomingMessage, MessageRefusal)
    case disconnect(SessionID)
    /// A session of another instance joined, left or moved its focus.
    case remotePresence(PresenceChange)
    /// The store holds this version (another writer's commit, or this instance's own one
    /// announced back): read and apply what this instance has not seen.
    case catchUp(through: UInt64)
    /// An action submitted through the store's inbox.
    case inbox(InboxEntry)
    case read(@Sendable (Result<DocumentState, SyncEngineError>) -> Void)
    case readVersion(UInt64, @Sendable (Result<DocumentState, SyncEngineError>) -> Void)
    case history(since: UInt64, limit: Int, @Sendable (Result<HistoryPage, SyncEngineError>) -> Void)
    case revert(to: UInt64, author: String?, @Sendable (Result<UInt64, SyncEngineError>) -> Void)
    case close(@Sendable () -> Void)
    /// The idle timer fired: unload the document if nothing happened since.
    case unloadIfIdle
}

/// What the document actor needs from the engine.
struct DocumentContext: Sendable {
    let store: any DocumentStore
    /// Bounds of the events kept in memory (`RecentEvents`).
    let retainedEvents: Int
    let retainedEventBytes: Int
    let limits: DocumentLimits
    /// How long a document in the store stays in memory without sessions or requests.
    let idleUnloadDelay: Duration
    /// How long after a conflict batches commit under the document's lock.
    let lockedCommitPeriod: Duration
    /// The JSON of the engine's own model's initial state.
    let initialState: JSONValue
    /// The engine's own model's name, for refusals of documents stored as it.
    let builtInModel: String
    /// Documents refused for being stored as another model, each logged once.
    let refusals = ModelRefusals()
    let metrics: SyncMetrics
    /// Where local presence changes go to reach other instances; nil without one.
    let presenceBus: (any PresenceBus)?
    let logger: Logger
}
