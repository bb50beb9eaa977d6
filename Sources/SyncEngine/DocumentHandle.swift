/// A document in the engine's registry, whatever its model: the engine routes work to it and
/// reads its version without knowing whether it is a declared type or the engine's own model.
protocol DocumentHandle: AnyObject, Sendable {
    var name: DocumentName { get }
    /// Queues work; false (nothing queued) once the document is unloaded.
    @discardableResult func enqueue(_ work: DocumentWork) -> Bool
    /// Marks the document unloaded if no work is queued.
    func retireIfIdle() -> Bool
    /// The durable version with the time of its change.
    var publishedChange: LatestChange { get }
}

extension DocumentActor: DocumentHandle {}
