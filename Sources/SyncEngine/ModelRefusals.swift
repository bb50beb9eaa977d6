import Logging
import Synchronization

/// The documents refused for being stored as another model than their name now has: each is
/// logged once (at start-up or when first opened), not at every session that tries it.
final class ModelRefusals: Sendable {
    private let logged = Mutex<Set<DocumentName>>([])

    func logOnce(_ name: DocumentName, _ error: SyncEngineError, logger: Logger) {
        guard logged.withLock({ $0.insert(name).inserted }) else { return }
        logger.error("Refusing a document stored as another model", metadata: ["document": "\(name)", "error": "\(error)"])
    }
}
