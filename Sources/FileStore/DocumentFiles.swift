import JSONCodec
import JSONPatch
import Logging
import SyncEngine

/// Where a document lives on disk and how its files are read back.
///
///     <data>/<name>/snapshot.json   {"format":2,"schema":S,"version":B,"state":{...}}  the state at version B
///                                   (absent: version 0, the model's initial state at the first event's schema)
///     <data>/<name>/log.jsonl       one DocumentEvent per line, versions B+1, B+2, ... (older lines are skipped)
struct DocumentFiles: Sendable {
    let directory: String

    init(dataDirectory: String, name: DocumentName) {
        directory = dataDirectory + "/" + name.rawValue
    }

    var logPath: String { directory + "/log.jsonl" }
    var snapshotPath: String { directory + "/snapshot.json" }
    /// The compacted log while a compaction builds it; renamed over `logPath` when done.
    var compactedLogPath: String { directory + "/log.jsonl.compacted" }

    /// The snapshot file's content for the state at `version`.
    static func encodeSnapshot(version: UInt64, schema: Int, model: String? = nil, state: JSONValue)
        throws(JSONEncodingError) -> [UInt8]
    {
        var object: JSONObject = ["format": .integer(Int64(StoredFormat.current)), "schema": .integer(Int64(schema))]
        if let model { object["model"] = .string(model) }
        object["version"] = .integer(Int64(clamping: version))
        object["state"] = state
        return try JSONCodec.encode(.object(object))
    }

    /// Reads the snapshot and the log and rebuilds the document.
    ///
    /// Without a snapshot, the log starts from the initial state of the first event's model and
    /// schema. Data with a schema above its model's current one (written for a newer model) is
    /// refused like a newer format. Data stored as a declared type not declared now is read
    /// without that check (the engine refuses to open it as another model).
    ///
    /// A torn last line (no newline, or not parsable) is dropped with a warning, and with
    /// `repairTornTail` also cut off the file. Any other damage throws, naming file and line.
    func load(schemas: StoreSchemas, io: any StorageIO, repairTornTail: Bool, logger: Logger) throws(StorageError)
        -> LoadedDocument
    {
        try rebuild(
            snapshot: io.readFile(snapshotPath), log: io.readFile(logPath) ?? [], lines: nil, schemas: schemas, io: io,
            repairTornTail: repairTornTail, logger: logger)
    }

    /// `load` on bytes already read: the snapshot file's and the log's, of which only the first
    /// `lines` lines when given (the compactor folds that many into a new snapshot).
    func rebuild(
        snapshot snapshotBytes: [UInt8]?, log bytes: [UInt8], lines lineLimit: Int?, schemas: StoreSchemas,
        io: any StorageIO, repairTornTail: Bool, logger: Logger
    ) throws(StorageError) -> LoadedDocument {
        let maximumSchema = schemas.current
        var history: DocumentHistory?
        var model: String?
        if let snapshotBytes {
            let snapshot = try Self.decodeSnapshot(snapshotBytes, path: snapshotPath)
            if let current = schemas.of(model: snapshot.model)?.current {
                try Self.checkSchema(snapshot.schema, maximum: current, path: snapshotPath, line: nil)
            }
            model = snapshot.model
            history = DocumentHistory(baseVersion: snapshot.version, baseSchema: snapshot.schema, baseState: snapshot.state)
        }
        var state = history?.baseState ?? .null
        var events: [DocumentEvent] = []

        let lines = Self.splitLines(bytes)
        for (index, line) in lines.prefix(lineLimit ?? lines.count).enumerated() {
            let number = index + 1
            let isLast = index == lines.count - 1
            let event: DocumentEvent
            do throws(StorageError) {
                guard line.terminated else {
                    throw StorageError.corrupt(logPath, line: number, "line has no terminating newline")
                }
                event = try Self.decodeEvent(bytes[line.range], path: logPath, line: number)
            } catch {
                guard isLast, error.kind == .corrupt else { throw error }
                logger.warning(
                    "Dropping torn last line of the event log, left by an interrupted write",
                    metadata: ["file": "\(logPath)", "line": "\(number)", "reason": "\(error.message)"])
                if repairTornTail { try truncateLog(to: Int64(line.range.lowerBound), io: io) }
                break
            }
            if let current = schemas.of(model: event.model)?.current {
                try Self.checkSchema(event.schema, maximum: current, path: logPath, line: number)
            }
            model = event.model
            let base: UInt64
            if let history {
                base = history.baseVersion
            } else {
                // No snapshot: the log starts from the initial state of its first event's schema.
                guard let initial = schemas.of(model: event.model)?.initialState(event.schema) else {
                    throw StorageError.corrupt(
                        logPath, line: number,
                        "no initial state is known for \(event.model.map { "type \($0) at " } ?? "")schema \(event.schema)")
                }
                history = DocumentHistory(baseVersion: 0, baseSchema: event.schema, baseState: initial)
                state = initial
                base = 0
            }
            if event.version <= base { continue }  // already in the snapshot
            let previous = events.last?.version ?? base
            do throws(ReplayError) {
                try DocumentHistory.replay(CollectionOfOne(event), onto: &state, after: previous)
            } catch {
                let reason =
                    if case .doesNotApply(_, let patchError) = error.kind {
                        "ops do not apply to the state at version \(previous): \(patchError)"
                    } else { error.description }
                throw StorageError.corrupt(logPath, line: number, reason)
            }
            events.append(event)
        }
        guard var history else {
            // Nothing stored yet: the document is at version 0.
            let initial = schemas.initialState(maximumSchema) ?? .null
            return LoadedDocument(
                history: DocumentHistory(baseVersion: 0, baseSchema: maximumSchema, baseState: initial), state: initial,
                model: nil)
        }
        do {
            try history.append(events)
        } catch {
            throw StorageError.corrupt(logPath, "\(error)")
        }
        return LoadedDocument(history: history, state: state, model: model)
    }

    private static func checkSchema(_ schema: Int, maximum: Int, path: String, line: Int?) throws(StorageError) {
        guard schema <= maximum else {
            throw StorageError(
                kind: .newerFormat, path: path, line: line,
                message: "written at schema \(schema), but this patchsync's model is at schema \(maximum); "
                    + "run a newer release")
        }
    }

    private func truncateLog(to length: Int64, io: any StorageIO) throws(StorageError) {
        let file = try io.openForAppending(logPath)
        defer { io.close(file) }
        try io.truncate(file, toLength: length)
        try io.synchronize(file)
    }

    private static func decodeSnapshot(_ bytes: [UInt8], path: String) throws(StorageError)
        -> (version: UInt64, schema: Int, model: String?, state: JSONValue)
    {
        let json: JSONValue
        do {
            json = try JSONCodec.decode(bytes)
        } catch {
            throw StorageError.corrupt(path, line: 1, "snapshot is not valid JSON: \(error)")
        }
        guard case .object(let object) = json else {
            throw StorageError.corrupt(path, line: 1, "snapshot must be {\"version\":N,\"state\":...}")
        }
        try StoredFormat.check(object, path: path, line: nil)
        guard let version = object["version"]?.integerValue, version >= 0, let state = object["state"] else {
            throw StorageError.corrupt(path, line: 1, "snapshot must be {\"version\":N,\"state\":...}")
        }
        let schema: Int
        do {
            schema = try StoredFormat.schema(in: object)
        } catch {
            throw StorageError.corrupt(path, line: 1, error.message)
        }
        var model: String?
        if let member = object["model"] {
            guard let string = member.stringValue else { throw StorageError.corrupt(path, line: 1, "\"model\" must be a string") }
            model = string
        }
        return (UInt64(version), schema, model, state)
    }

    private static func decodeEvent(_ bytes: ArraySlice<UInt8>, path: String, line: Int) throws(StorageError)
        -> DocumentEvent
    {
        let json: JSONValue
        do {
            json = try JSONCodec.decode(Array(bytes))
        } catch {
            throw StorageError.corrupt(path, line: line, "not valid JSON: \(error)")
        }
        if case .object(let object) = json { try StoredFormat.check(object, path: path, line: line) }
        do {
            return try DocumentEvent(json: json)
        } catch {
            throw StorageError.corrupt(path, line: line, "not an event: \(error.message)")
        }
    }

    /// Lines as byte ranges without their newline; the last one may be unterminated.
    static func splitLines(_ bytes: [UInt8]) -> [(range: Range<Int>, terminated: Bool)] {
        var lines: [(range: Range<Int>, terminated: Bool)] = []
        var start = 0
        for index in bytes.indices where bytes[index] == 0x0A {
            lines.append((start..<index, true))
            start = index + 1
        }
        if start < bytes.count { lines.append((start..<bytes.count, false)) }
        return lines
    }
}

/// A document as rebuilt from disk.
struct LoadedDocument: Sendable {
    var history: DocumentHistory
    /// The state after the last event.
    var state: JSONValue
    /// The declared type the document was stored as (its newest data says); nil: the engine's own model.
    var model: String?
}
