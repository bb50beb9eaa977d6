import JSONPatch

/// One step in the evolution of a model's state: turns the state JSON of schema `from` into
/// schema `from + 1`.
///
/// At start-up, a document stored with an older schema is brought up to date through every
/// step after its own, and the change is logged as an event `{"type":"Migrate","from":S,"to":T}`.
/// Reverting to a version from before a migration migrates that old state the same way.
public struct SchemaMigration: Sendable {
    /// The schema this step reads; it writes `from + 1`.
    public let from: Int
    /// The model's initial state at schema `from`: where documents first stored at that schema
    /// start, so that their log can be replayed.
    public let initialState: JSONValue
    /// The conversion. Throw when the old JSON cannot be converted: start-up stops, naming the document.
    public let migrate: @Sendable (JSONValue) throws -> JSONValue

    public init(from: Int, initialState: JSONValue, migrate: @escaping @Sendable (JSONValue) throws -> JSONValue) {
        self.from = from
        self.initialState = initialState
        self.migrate = migrate
    }
}

extension DocumentModel {
    /// Throws unless `migrations` holds exactly one step from each schema below `schemaVersion`, in order.
    static func checkMigrations() throws(SyncEngineError) {
        guard schemaVersion >= 1 else {
            throw SyncEngineError(.invalidState, "\(Self.self).schemaVersion must be at least 1, not \(schemaVersion)")
        }
        let sources = migrations.map(\.from)
        guard sources == Array(1..<schemaVersion) else {
            throw SyncEngineError(
                .invalidState,
                "\(Self.self) is at schema \(schemaVersion), so it needs migrations from schemas "
                    + "\(Array(1..<schemaVersion)) in order, but has them from \(sources)")
        }
    }

    /// The initial state JSON of `schema`, where a log written at that schema starts.
    static func initialStateJSON(schema: Int) throws -> JSONValue? {
        if schema == schemaVersion { return try jsonValue(of: initialState) }
        return migrations.first { $0.from == schema }?.initialState
    }
}
