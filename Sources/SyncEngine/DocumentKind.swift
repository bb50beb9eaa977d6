import JSONPatch
import JSONValueCoding

/// What a document is, as a value the engine holds per document: its model's name, the state's
/// key in the `Full`, schema version, initial state and migrations, and how a new JSON state is
/// checked. One engine serves its Swift `DocumentModel` (whose rules are static) and any number of
/// declared types (`DeclaredType`, whose rules are read at start-up), chosen by document name.
struct DocumentKind<Model: DocumentModel>: Sendable {
    /// Names the model in logs, stored events and database rows.
    let modelName: String
    /// Whether the `Full` and stored events carry `model` (declared types do; the engine's own
    /// model does not, so that its data and messages stay as earlier releases wrote them).
    let isDeclared: Bool
    let stateKey: String
    let schemaVersion: Int
    let initialState: Model.State
    let initialJSON: JSONValue
    /// One step per older schema, in order, the first from schema 1.
    let migrations: [SchemaMigration]
    /// Whether typed actions are taken (declared types take raw Patches only).
    let acceptsActions: Bool
    let acceptsRawPatches: Bool
    /// `json` as a state and its JSON, or `invalid_patch` saying where and why it is not one.
    let validatedState: @Sendable (JSONValue) throws(ActionRejected) -> (state: Model.State, json: JSONValue)
    /// As `validatedState`, for `json` made by `change` from a state known to be valid: a
    /// declared type's validator checks only what the change can have affected.
    let validatedChange: @Sendable (JSONValue, JSONPatch) throws(ActionRejected) -> (state: Model.State, json: JSONValue)
    /// A state just migrated from an older schema, and its JSON: a Swift model decodes it and
    /// builds its JSON again (as it always has); a declared type validates it against its schema.
    let migratedState: @Sendable (JSONValue) throws -> (state: Model.State, json: JSONValue)
    /// `json`, already known to be valid, as a state.
    let decode: @Sendable (JSONValue) throws -> Model.State
    /// What people call a document in state `json` (the document list shows it), nil for none.
    /// A Swift model's `title(of:)`; a declared type's string at its `x-patchsync.title`.
    var title: @Sendable (JSONValue) -> String? = { _ in nil }

    /// The JSON of the initial state at `schema`, where a log written at that schema starts.
    func initialStateJSON(schema: Int) -> JSONValue? {
        if schema == schemaVersion { return initialJSON }
        // A declared type knows only its current default; its documents' files start with a
        // snapshot at version 0 instead (see `FileDocumentStore.append`).
        if isDeclared { return nil }
        return migrations.first { $0.from == schema }?.initialState
    }

    /// `state`, stored at `schema`, brought to `schemaVersion`.
    func migrate(_ state: JSONValue, from schema: Int) throws(SyncEngineError) -> JSONValue {
        var json = state
        for step in migrations where step.from >= schema {
            do {
                json = try step.migrate(json)
            } catch {
                throw SyncEngineError(
                    .invalidState, "the migration of \(modelName) from schema \(step.from) failed: \(error)")
            }
        }
        return json
    }

    /// The schemas a store reads for documents of this kind.
    var storeSchemas: StoreSchemas {
        let kind = self
        return StoreSchemas(current: schemaVersion, model: isDeclared ? modelName : nil) { kind.initialStateJSON(schema: $0) }
    }
}

extension DocumentKind {
    /// The rules of a Swift model, from its static members.
    init() throws(SyncEngineError) {
        try Model.checkMigrations()
        let initialJSON: JSONValue
        do {
            initialJSON = try Model.jsonValue(of: Model.initialState)
        } catch {
            throw SyncEngineError(.invalidState, "the initial state of \(Model.self) cannot be encoded: \(error)")
        }
        self.init(
            modelName: Model.modelName, isDeclared: false, stateKey: Model.stateKey, schemaVersion: Model.schemaVersion,
            initialState: Model.initialState, initialJSON: initialJSON, migrations: Model.migrations,
            acceptsActions: true, acceptsRawPatches: Model.acceptsRawPatches,
            validatedState: { json throws(ActionRejected) in try Model.validatedState(from: json) },
            validatedChange: { json, _ throws(ActionRejected) in try Model.validatedState(from: json) },
            migratedState: { json in
                let state = try JSONValueDecoder().decode(Model.State.self, from: json)
                return (state, try Model.jsonValue(of: state))
            },
            decode: { json in try JSONValueDecoder().decode(Model.State.self, from: json) },
            title: { json in Model.title(of: json) })
    }
}

extension DocumentKind where Model == DeclaredDocument {
    /// The rules of a type declared by a JSON Schema: any JSON the schema accepts.
    init(declared type: DeclaredType) {
        let validator = type.validator
        self.init(
            modelName: type.name, isDeclared: true, stateKey: "state", schemaVersion: type.version,
            initialState: DeclaredState(type.initialState), initialJSON: type.initialState,
            migrations: type.schemaMigrations, acceptsActions: false, acceptsRawPatches: true,
            validatedState: { json throws(ActionRejected) in
                if let failure = validator.firstFailure(in: json) { throw ActionRejected(.invalidPatch, failure) }
                return (DeclaredState(json), json)
            },
            validatedChange: { json, change throws(ActionRejected) in
                if let failure = validator.firstFailure(in: json, changedBy: change) {
                    throw ActionRejected(.invalidPatch, failure)
                }
                return (DeclaredState(json), json)
            },
            migratedState: { json in
                if let failure = validator.firstFailure(in: json) { throw ActionRejected(.invalidPatch, failure) }
                return (DeclaredState(json), json)
            },
            decode: { json in DeclaredState(json) })
        let titlePointer = type.titlePointer
        title = { json in titlePointer.flatMap { DeclaredDocument.title(at: $0, in: json) } }
    }
}
