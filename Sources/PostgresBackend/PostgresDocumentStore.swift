import JSONCodec
import JSONPatch
import Logging
import Synchronization
import SyncEngine
import SystemSupport

/// Documents in PostgreSQL, shared by every instance that names the same database and schema.
///
/// PostgreSQL orders the writes: a batch commits in one transaction that moves
/// `documents.version` only `WHERE version = <the version the batch was built on>`; a writer
/// that finds another one got there first rolls back and reports `.conflict`. NOTIFY (sent in
/// that transaction, so only after COMMIT) tells the other instances; `PostgresListener` hears it.
///
/// Threading: libpq blocks, so every call of the writer connection runs on `thread` (the async
/// `DocumentStore` methods hand their work to it); the listener and the state writer have a thread and connection of
/// their own. None ever runs on the libwebsockets service thread or the Swift cooperative pool.
/// Each of the three is a `PostgresConnectionWorker`: a connection found dead is replaced
/// before a statement is sent, and a read runs again on the new connection.
public final class PostgresDocumentStore: Sendable {
    private struct State {
        var initialState: JSONValue = .null
        /// The model's schema version: events written at a newer one are refused.
        var schema = 1
        /// Every model's schemas (declared types by name).
        var schemas = StoreSchemas(current: 1) { _ in nil }
        /// Why the database cannot be used; nil when it can.
        var outage: String?
        /// Whether this outage has been logged (by the writer; the listener only reports it).
        var outageLogged = false
        var listener: PostgresListener?
    }

    /// The writer connection's thread: every store method runs there.
    var thread: StorageThread { writer.thread }
    public let configuration: PostgresStoreConfiguration
    let schema: PostgresSchema
    private let logger: Logger
    private let state = Mutex(State())
    let stateWriter: PostgresStateWriter
    /// The connection of `thread`: every store method's statements.
    let writer: PostgresConnectionWorker

    /// Checks the configuration; connects in `start`.
    public init(configuration: PostgresStoreConfiguration, logger: Logger) throws(PostgresError) {
        guard PostgresStoreConfiguration.isValidSchemaName(configuration.schema) else {
            throw PostgresError(
                .statement(sqlState: "3F000"),
                "schema name '\(configuration.schema)' must be lower-case letters, digits and _ (at most 63)")
        }
        self.configuration = configuration
        self.schema = PostgresSchema(name: configuration.schema)
        self.logger = logger
        let prepare = PreparedOnce(schema: schema)
        self.prepared = prepare
        self.writer = PostgresConnectionWorker(
            role: "store", url: configuration.url, logger: logger,
            setUp: { connection throws(PostgresError) in try prepare.run(connection) })
        self.stateWriter = PostgresStateWriter(
            url: configuration.url, schema: schema, lagVersions: configuration.stateLagVersions,
            lagTime: configuration.stateLagTime, logger: logger)
    }

    // MARK: DocumentStore, on `thread` (PostgresDocumentStore+DocumentStore.swift)

    /// Connects, runs the migrations and lists the documents (`onChange(.versions)`). An
    /// unreachable database does not stop start-up: the store reports it (`unavailableReason`,
    /// logged once), the listener reconnects with backoff, and the first connection that reaches
    /// the database runs the migrations and lists the documents.
    func startNow(
        initialState: JSONValue, schemas: StoreSchemas, onChange: @escaping @Sendable (StoreChange) -> Void
    ) throws(StorageError) {
        state.withLock {
            $0.initialState = initialState
            $0.schema = schemas.current
            $0.schemas = schemas
        }
        do throws(PostgresError) {
            // The list before start-up ends, so that no existing document is reported missing.
            onChange(.versions(try writer.withConnection(.rerunnable) { connection throws(PostgresError) in
                try schema.latestChanges(connection)
            }))
        } catch where error.kind == .connection {
            failed(error)
        } catch {
            throw storageError(error)
        }
        let listener = PostgresListener(
            url: configuration.url, schema: schema, checkInterval: configuration.checkInterval,
            stateLagTime: configuration.stateLagTime, logger: logger,
            prepare: { [prepared] connection throws(PostgresError) in try prepared.run(connection) },
            onChange: onChange,
            onStatus: { [weak self] error in
                if let error { self?.listenerFailed(error) } else { self?.recovered() }
            })
        state.withLock { $0.listener = listener }
        listener.start()
    }

    /// Creates or upgrades the schema (done by the first connection after `start` too).
    public func migrate() throws(StorageError) {
        try withConnection(.rerunnable) { connection throws(PostgresError) in try schema.migrate(connection) }
    }

    func loadNow(_ name: DocumentName) throws(StorageError) -> StoredDocument? {
        try withConnection(.rerunnable) { connection throws(PostgresError) in try load(name, connection) }
    }

    func appendNow(_ commit: StoreCommit) throws(StorageError) -> AppendResult {
        defer { if let entry = commit.inboxEntry { inboxEntryFinished(entry.id) } }
        let endVersion = commit.events.last?.version ?? commit.startVersion
        let writeState = !commit.events.isEmpty && stateWriter.isOverdue(commit.name, at: endVersion)
        let stateText: String?
        do {
            stateText = writeState ? String(decoding: try JSONCodec.encode(commit.state), as: UTF8.self) : nil
        } catch {
            throw StorageError(kind: .database, path: commit.name.rawValue, message: "cannot encode the state: \(error)")
        }
        let start = ContinuousClock.now
        // Never run again blindly: a commit whose answer was lost is checked (`verifyCommit`).
        return try withConnection(.never) { connection throws(PostgresError) -> AppendResult in
            let refusal: AppendResult?
            do throws(PostgresError) {
                refusal =
                    if commit.inboxEntry == nil {
                        // One statement is one transaction: one round trip.
                        try writeEvents(commit, endVersion: endVersion, state: stateText, connection) ? nil : .conflict
                    } else {
                        try writeInTransaction(commit, endVersion: endVersion, state: stateText, connection)
                    }
            } catch {
                if error.constraint == schema.actionOnceIndex { return .repeatedAction }
                guard error.kind == .connection else { throw error }
                return try verifyCommit(of: commit, endVersion: endVersion, after: error)
            }
            if let refusal { return refusal }
            if !commit.events.isEmpty {
                stateWriter.committed(commit.name, version: endVersion, state: commit.state, written: writeState)
            }
            return .committed(duration: .now - start)
        }
    }

    func rejectInboxEntryNow(_ entry: InboxEntry, code: SyncErrorCode, message: String, at version: UInt64)
        throws(StorageError)
    {
        defer { inboxEntryFinished(entry.id) }
        // A second run finds the entry applied and changes nothing.
        try withConnection(.rerunnable) { connection throws(PostgresError) in
            try connection.execute(
                """
                UPDATE \(schema.name).inbox SET applied_at = now(), error_code = $2, error_message = $3
                WHERE id = $1 AND applied_at IS NULL
                  AND coalesce((SELECT version FROM \(schema.name).documents WHERE name = $4), 0) = $5
                """, ["\(entry.id)", code.rawValue, message, entry.document.rawValue, "\(version)"])
        }
    }

    /// A batch that applies an inbox entry: claiming the entry, the events and the outcome in
    /// one transaction. Returns why nothing was written (rolled back), or nil once committed.
    private func writeInTransaction(
        _ commit: StoreCommit, endVersion: UInt64, state stateText: String?, _ connection: PostgresConnection
    ) throws(PostgresError) -> AppendResult? {
        try connection.executeScript("BEGIN")
        do throws(PostgresError) {
            if let refusal = try writeInboxBatch(commit, endVersion: endVersion, state: stateText, connection) {
                try connection.executeScript("ROLLBACK")
                return refusal
            }
        } catch {
            if error.kind != .connection { try? connection.executeScript("ROLLBACK") }
            throw error
        }
        try connection.executeScript("COMMIT")
        return nil
    }

    /// The statements of an inbox batch, inside its transaction. Returns why nothing may be
    /// written (the caller rolls back), or nil to commit.
    private func writeInboxBatch(
        _ commit: StoreCommit, endVersion: UInt64, state stateText: String?, _ connection: PostgresConnection
    ) throws(PostgresError) -> AppendResult? {
        if let entry = commit.inboxEntry, try !claim(entry, connection) { return .inboxEntryTaken }
        return try writeBatch(commit, endVersion: endVersion, state: stateText, connection)
    }

    /// Claims an inbox entry for the transaction under way: another instance skips it, and sees
    /// it applied after COMMIT. False if it is applied or another transaction holds it.
    func claim(_ entry: InboxEntry, _ connection: PostgresConnection) throws(PostgresError) -> Bool {
        try !connection.execute(
            "SELECT 1 FROM \(schema.name).inbox WHERE id = $1 AND applied_at IS NULL FOR UPDATE SKIP LOCKED",
            ["\(entry.id)"]
        ).rows.isEmpty
    }

    /// The events and the claimed inbox entry's outcome, inside a transaction. Returns why
    /// nothing may be written (the caller rolls back), or nil to commit.
    func writeBatch(
        _ commit: StoreCommit, endVersion: UInt64, state stateText: String?, _ connection: PostgresConnection
    ) throws(PostgresError) -> AppendResult? {
        let name = commit.name.rawValue
        if commit.events.isEmpty {
            // An inbox action that changed nothing: still applied, at the version it was reduced on.
            let current = try connection.execute(
                "SELECT version FROM \(schema.name).documents WHERE name = $1 FOR SHARE", [name]
            ).rows.first?[0].flatMap { UInt64($0) } ?? 0
            if current != commit.startVersion { return .conflict }
        } else if try !writeEvents(commit, endVersion: endVersion, state: stateText, connection) {
            return .conflict
        }
        if let entry = commit.inboxEntry {
            try connection.execute(
                "UPDATE \(schema.name).inbox SET applied_at = now(), version = $2 WHERE id = $1",
                ["\(entry.id)", "\(endVersion)"])
        }
        return nil
    }

    /// Moves the document from `startVersion` to `endVersion`, inserts the events and NOTIFYs, in
    /// one statement. False if the document was not at `startVersion` (nothing written).
    func writeEvents(
        _ commit: StoreCommit, endVersion: UInt64, state stateText: String?, _ connection: PostgresConnection
    ) throws(PostgresError) -> Bool {
        let name = commit.name.rawValue
        let events = Self.jsonArray(commit.encodedEvents)
        let notice = "\(endVersion):\(name)"
        // A declared type's first commit keeps its version 0 as a snapshot: the type knows only its
        // current default, and rebuilding an older version starts there.
        let baseState = try commit.startVersion == 0 ? declaredBaseState(of: commit) : nil
        let moved =
            commit.startVersion == 0
            ? try connection.execute(
                schema.writeEvents(
                    moving: """
                        INSERT INTO \(schema.name).documents (name, version, state, state_version, model)
                        VALUES ($1, $3, coalesce($4::jsonb, 'null'), $3, ($2::jsonb)->0->>'model')
                        ON CONFLICT (name) DO NOTHING
                        """, baseState: baseState == nil ? nil : "$7"),
                [name, events, "\(endVersion)", stateText, schema.eventsChannel, notice] + (baseState.map { [$0] } ?? []))
            : try connection.execute(
                schema.writeEvents(
                    moving: """
                        UPDATE \(schema.name).documents SET version = $3, updated_at = now(),
                            state = coalesce($4::jsonb, state),
                            state_version = CASE WHEN $4 IS NULL THEN state_version ELSE $3 END
                        WHERE name = $1 AND version = $7
                        """),
                [name, events, "\(endVersion)", stateText, schema.eventsChannel, notice, "\(commit.startVersion)"])
        return !moved.rows.isEmpty
    }

    /// The JSON text of a declared type's state at version 0, for its first commit; nil for the
    /// engine's own model.
    private func declaredBaseState(of commit: StoreCommit) throws(PostgresError) -> String? {
        guard let first = commit.events.first, let model = first.model else { return nil }
        guard let initial = state.withLock({ $0.schemas.of(model: model)?.initialState(first.schema) }) else {
            throw PostgresError(
                .statement(sqlState: "XX001"), "no initial state is known for type \(model) at schema \(first.schema)")
        }
        do {
            return String(decoding: try JSONCodec.encode(initial), as: UTF8.self)
        } catch {
            throw PostgresError(.statement(sqlState: "XX001"), "cannot encode the initial state of \(model): \(error)")
        }
    }

    static func jsonArray(_ elements: [[UInt8]]) -> String {
        var text = "["
        for (index, element) in elements.enumerated() {
            if index > 0 { text += "," }
            text += String(decoding: element, as: UTF8.self)
        }
        return text + "]"
    }

    func eventsNow(of name: DocumentName, after version: UInt64, limit: Int) throws(StorageError) -> StoredEvents {
        try withConnection(.rerunnable) { connection throws(PostgresError) in
            let oldest = try connection.execute(
                "SELECT coalesce(min(version) - 1, 0) FROM \(schema.name).events WHERE document = $1", [name.rawValue]
            ).rows.first?[0].flatMap { UInt64($0) } ?? 0
            return StoredEvents(
                events: try readEvents(name, after: version, through: nil, limit: limit, connection), oldestVersion: oldest)
        }
    }

    /// One indexed lookup (the unique index on `(document, client, action_id)`).
    func loggedActionsNow(of name: DocumentName, _ keys: [ActionKey]) throws(StorageError) -> [DocumentEvent] {
        let keyList: JSONValue = .array(keys.map { ["client": .string($0.client.rawValue), "id": $0.id] })
        let keyText: String
        do {
            keyText = try JSONCodec.encodeString(keyList)
        } catch {
            throw StorageError(kind: .database, path: name.rawValue, message: "cannot encode action ids: \(error)")
        }
        return try withConnection(.rerunnable) { connection throws(PostgresError) in
            try decodeEvents(
                of: name,
                connection.execute(
                    """
                    SELECT (\(schema.eventObject))::text FROM \(schema.name).events
                    WHERE document = $1 AND client IS NOT NULL AND action_id IS NOT NULL
                      AND (client, action_id) IN (SELECT k->>'client', k->'id' FROM jsonb_array_elements($2::jsonb) AS k)
                    ORDER BY version
                    """, [name.rawValue, keyText]))
        }
    }

    func stateNow(of name: DocumentName, at version: UInt64) throws(StorageError) -> StoredState {
        try withConnection(.rerunnable) { connection throws(PostgresError) -> StoredState in
            let document = try connection.execute(
                "SELECT version, state::text, state_version FROM \(schema.name).documents WHERE name = $1",
                [name.rawValue]
            ).rows.first
            let latest = document.flatMap { $0[0] }.flatMap { UInt64($0) } ?? 0
            guard version <= latest else { return .unavailable(oldestVersion: 0, latestVersion: latest) }
            // The newest stored state at or before `version`: `documents.state`, a snapshot kept by
            // an import, or the initial state when the events start at version 1.
            var stored: JSONValue?
            var baseVersion: UInt64 = 0
            if let document, let stateVersion = document[2].flatMap({ UInt64($0) }), stateVersion <= version {
                stored = try Self.decode(document[1] ?? "null")
                baseVersion = stateVersion
            } else {
                let snapshots = try connection.execute(
                    """
                    SELECT version, state::text, version <= $2 FROM \(schema.name).snapshots
                    WHERE document = $1 ORDER BY version <= $2 DESC, version DESC LIMIT 1
                    """, [name.rawValue, "\(version)"]
                ).rows
                if let snapshot = snapshots.first, let snapshotVersion = snapshot[0].flatMap({ UInt64($0) }) {
                    guard snapshot[2] == "t" else {
                        return .unavailable(oldestVersion: snapshotVersion, latestVersion: latest)
                    }
                    stored = try Self.decode(snapshot[1] ?? "null")
                    baseVersion = snapshotVersion
                }
            }
            var base: JSONValue
            if let stored { base = stored } else { base = try initialState(of: name, connection) }
            let events = try readEvents(name, after: baseVersion, through: version, limit: Int.max, connection)
            try Self.replay(events, of: name, onto: &base, after: baseVersion, through: version)
            return .available(base, schema: try schemaOfState(name, at: version, connection))
        }
    }

    public var unavailableReason: String? { state.withLock { $0.outage } }

    /// The engine is done with an inbox entry the listener handed over: the next sweep may come.
    func inboxEntryFinished(_ id: Int64) {
        state.withLock { $0.listener }?.inbox.finished(id)
    }

    func closeNow(_ name: DocumentName) {
        stateWriter.closed(name)
    }

    public func shutdown() {
        let listener = state.withLock { state in
            defer { state.listener = nil }
            return state.listener
        }
        listener?.stop()
        writer.thread.stop()
        writer.disconnect()
        stateWriter.stop()
    }

    // MARK: Helpers

    /// Events read with a document beyond those its state needs, so that exactly-once answers
    /// resends of recent actions after a restart.
    private static var seededEvents: UInt64 { 1000 }

    /// The document's state at its latest version: `documents.state` plus the events after `state_version`.
    private func load(_ name: DocumentName, _ connection: PostgresConnection) throws(PostgresError) -> StoredDocument? {
        guard
            let row = try connection.execute(
                "SELECT state::text, state_version, version FROM \(schema.name).documents WHERE name = $1",
                [name.rawValue]
            ).rows.first,
            let stateVersion = row[1].flatMap({ UInt64($0) }), let latestVersion = row[2].flatMap({ UInt64($0) })
        else { return nil }
        var current = try Self.decode(row[0] ?? "null")
        let seedFrom = min(stateVersion, latestVersion > Self.seededEvents ? latestVersion - Self.seededEvents : 0)
        let events = try readEvents(name, after: seedFrom, through: nil, limit: Int.max, connection)
        // Those before the state are only remembered (exactly-once): an import may start them anywhere.
        try Self.replay(
            events.lazy.filter { $0.version > stateVersion }, of: name, onto: &current, after: stateVersion,
            through: latestVersion)
        stateWriter.loaded(name, stateVersion: stateVersion)
        let model = events.last?.model
        let modelSchema = state.withLock { $0.schemas.of(model: model)?.current } ?? Int.max
        let documentSchema = events.last?.schema ?? modelSchema
        guard documentSchema <= modelSchema else {
            throw PostgresError(
                .newerSchema,
                "document \(name) is at schema \(documentSchema), newer than this release's \(modelSchema); upgrade patchsync")
        }
        return StoredDocument(
            name: name, version: events.last?.version ?? stateVersion, schema: documentSchema, state: current,
            oldestVersion: 0, recentEvents: events, model: model)
    }

    /// The state at version 0 for the model and schema of the document's first event: the
    /// engine's own model's, or a declared type's (which knows only its current schema's).
    private func initialState(of name: DocumentName, _ connection: PostgresConnection) throws(PostgresError) -> JSONValue {
        let first = try connection.execute(
            "SELECT model, coalesce(schema, 1) FROM \(schema.name).events WHERE document = $1 AND version = 1",
            [name.rawValue]
        ).rows.first
        guard let model = first?[0] else { return state.withLock { $0.initialState } }
        let schema = first?[1].flatMap { Int($0) } ?? 1
        guard let initial = state.withLock({ $0.schemas.of(model: model)?.initialState(schema) }) else {
            throw PostgresError(
                .statement(sqlState: "XX001"),
                "document \(name) starts at schema \(schema) of type \(model), whose initial state is not known now")
        }
        return initial
    }

    /// `DocumentHistory.replay`, its refusal (a gap, a repeat, ops that do not apply) named as
    /// damaged data of this document.
    static func replay<Events: Sequence<DocumentEvent>>(
        _ events: Events, of name: DocumentName, onto state: inout JSONValue, after version: UInt64, through last: UInt64
    ) throws(PostgresError) {
        do {
            try DocumentHistory.replay(events, onto: &state, after: version, through: last)
        } catch {
            throw PostgresError(.statement(sqlState: "XX001"), "the events of \(name) cannot be replayed: \(error)")
        }
    }

    /// The model's schema version of the state at `version` (the current one at version 0).
    private func schemaOfState(_ name: DocumentName, at version: UInt64, _ connection: PostgresConnection)
        throws(PostgresError) -> Int
    {
        guard version > 0 else { return state.withLock { $0.schema } }
        let rows = try connection.execute(
            "SELECT coalesce(schema, 1) FROM \(schema.name).events WHERE document = $1 AND version = $2",
            [name.rawValue, "\(version)"]
        ).rows
        return rows.first?[0].flatMap { Int($0) } ?? 1
    }

    func readEvents(
        _ name: DocumentName, after version: UInt64, through last: UInt64?, limit: Int, _ connection: PostgresConnection
    ) throws(PostgresError) -> [DocumentEvent] {
        try decodeEvents(
            of: name,
            connection.execute(
                """
                SELECT (\(schema.eventObject))::text
                FROM \(schema.name).events
                WHERE document = $1 AND version > $2 AND ($3::bigint IS NULL OR version <= $3)
                ORDER BY version LIMIT $4
                """, [name.rawValue, "\(version)", last.map { "\($0)" }, "\(max(0, limit))"]))
    }

    /// Rows of one column, each an event as `schema.eventObject` builds it.
    func decodeEvents(of name: DocumentName, _ result: PostgresRows) throws(PostgresError) -> [DocumentEvent] {
        try result.rows.map { row throws(PostgresError) in
            do {
                return try DocumentEvent(json: try Self.decode(row[0] ?? "null"))
            } catch let error as EventFormatError {
                throw PostgresError(.statement(sqlState: "XX001"), "an event of \(name): \(error.message)")
            } catch {
                throw PostgresError(.statement(sqlState: "XX001"), "an event of \(name): \(error)")
            }
        }
    }

    /// After the connection broke during the commit, whether the batch landed: its last event is
    /// there with this batch's time and action (or its inbox entry is applied at its version).
    /// If the database cannot be asked, the batch is reported as failed: a later catch-up
    /// brings it back if it did land.
    func verifyCommit(of commit: StoreCommit, endVersion: UInt64, after error: PostgresError)
        throws(PostgresError) -> AppendResult
    {
        // On a new connection (this one broke); a read, which may run again.
        let landed = try writer.withConnection(.rerunnable) { connection throws(PostgresError) -> String? in
            try landedValue(of: commit, endVersion: endVersion, connection)
        }
        switch landed {
        case "t"?:
            logger.notice("The connection broke during the commit, which did land", metadata: ["document": "\(commit.name)"])
            return .committed(duration: .zero)
        case "f"?: return commit.events.isEmpty ? .inboxEntryTaken : .conflict
        default: throw error
        }
    }

    /// "t" if the batch's last event (or its inbox entry's outcome) is in the table as this batch
    /// wrote it, "f" if another one is, nil if neither.
    private func landedValue(of commit: StoreCommit, endVersion: UInt64, _ connection: PostgresConnection)
        throws(PostgresError) -> String?
    {
        if let last = commit.events.last {
            return try connection.execute(
                """
                SELECT time = to_timestamp($3::bigint / 1000.0) AND action = $4::jsonb
                FROM \(schema.name).events WHERE document = $1 AND version = $2
                """,
                [
                    commit.name.rawValue, "\(last.version)", "\(last.time)",
                    String(decoding: (try? JSONCodec.encode(last.action)) ?? [], as: UTF8.self),
                ]
            ).rows.first?[0]
        } else if let entry = commit.inboxEntry {
            return try connection.execute(
                """
                SELECT version IS NOT DISTINCT FROM $2::bigint FROM \(schema.name).inbox
                WHERE id = $1 AND applied_at IS NOT NULL
                """, ["\(entry.id)", "\(endVersion)"]
            ).rows.first?[0]
        }
        return nil
    }

    /// Runs `body` with the writer connection (`PostgresConnectionWorker.withConnection`).
    /// A connection failure marks the store unavailable (logged once) until a call succeeds.
    @discardableResult
    func withConnection<T>(
        _ rerun: PostgresConnectionWorker.Rerun, _ body: (PostgresConnection) throws(PostgresError) -> T
    ) throws(StorageError) -> T {
        do throws(PostgresError) {
            let result = try writer.withConnection(rerun, body)
            recovered()
            return result
        } catch {
            if error.kind != .connection, error.kind != .library { recovered() } else { failed(error) }
            throw storageError(error)
        }
    }

    private func storageError(_ error: PostgresError) -> StorageError {
        StorageError(
            kind: error.kind == .newerSchema ? .newerFormat : .database, path: configuration.schema,
            message: error.description)
    }

    private let prepared: PreparedOnce

    /// Runs the migrations on the first connection that reaches the database (writer or
    /// listener; the advisory lock makes a concurrent second run wait and find them applied).
    private final class PreparedOnce: Sendable {
        let schema: PostgresSchema
        let migrated = Atomic<Bool>(false)

        init(schema: PostgresSchema) { self.schema = schema }

        func run(_ connection: PostgresConnection) throws(PostgresError) {
            guard !migrated.load(ordering: .acquiring) else { return }
            try schema.migrate(connection)
            migrated.store(true, ordering: .releasing)
        }
    }

    /// A write or read could not reach the database: logged once per outage.
    private func failed(_ error: PostgresError) {
        let first = state.withLock { state in
            defer {
                state.outage = error.message
                state.outageLogged = true
            }
            return !state.outageLogged
        }
        if first {
            logger.error("PostgreSQL is unavailable; actions get storage_unavailable", metadata: ["error": "\(error)"])
        }
    }

    /// The listener lost its connection: `/healthz` says so at once, and the next write logs it.
    private func listenerFailed(_ error: PostgresError) {
        state.withLock { state in
            if state.outage == nil { state.outage = error.message }
        }
    }

    private func recovered() {
        let wasLogged = state.withLock { state in
            defer {
                state.outage = nil
                state.outageLogged = false
            }
            return state.outageLogged
        }
        if wasLogged { logger.notice("PostgreSQL is available again") }
    }

    private static func decode(_ text: String) throws(PostgresError) -> JSONValue {
        do {
            return try JSONCodec.decode(Array(text.utf8))
        } catch {
            throw PostgresError(.statement(sqlState: "XX001"), "stored JSON does not parse: \(error)")
        }
    }
}
