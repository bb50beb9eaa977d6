import JSONPatch

/// Checks a whole document state against a declared type's schema.
public protocol StateValidator: Sendable {
    /// The first place `state` breaks the schema, as `POINTER: message (keyword)`; nil when valid.
    func firstFailure(in state: JSONValue) -> String?

    /// As `firstFailure(in:)` for `state` made by `change` from a state that was valid: a
    /// validator may check only what the change can have affected. The default checks it all.
    func firstFailure(in state: JSONValue, changedBy change: JSONPatch) -> String?
}

extension StateValidator {
    public func firstFailure(in state: JSONValue, changedBy change: JSONPatch) -> String? {
        firstFailure(in: state)
    }
}

/// A document type declared by a JSON Schema file (`--types DIR`, `DIR/NAME.json`): documents
/// whose names match `patterns` hold any JSON the schema accepts, written by raw Patches.
public struct DeclaredType: Sendable {
    /// The file's name without `.json`: the model name in the `Full`, the log and the database.
    public let name: String
    /// Which documents are of this type (`x-patchsync.documents`).
    public let patterns: [DocumentNamePattern]
    /// The schema version (`x-patchsync.version`, default 1), sent as `schema` in the `Full`.
    public let version: Int
    /// The schema's root `default`: a new document's state.
    public let initialState: JSONValue
    /// `x-patchsync.migrations`: the JSON Patch that turns a state of schema `from` into `from + 1`.
    public let migrations: [(from: Int, ops: JSONPatch)]
    public let validator: any StateValidator
    /// `x-patchsync.title`: where a document's title is (a string there titles it in lists).
    public let titlePointer: JSONPointer?
    /// The file it was read from, named in errors.
    public let file: String
    /// The schema file's JSON as declared, for clients that build an editor from it
    /// (`GET /api/docs/<name>/schema`); nil when the type was built without one.
    public let schema: JSONValue?

    public init(
        name: String, patterns: [DocumentNamePattern], version: Int, initialState: JSONValue,
        migrations: [(from: Int, ops: JSONPatch)], validator: any StateValidator, titlePointer: JSONPointer? = nil,
        file: String, schema: JSONValue? = nil
    ) {
        self.schema = schema
        self.name = name
        self.patterns = patterns
        self.version = version
        self.initialState = initialState
        self.migrations = migrations.sorted { $0.from < $1.from }
        self.validator = validator
        self.titlePointer = titlePointer
        self.file = file
    }

    /// Whether a document of this name is of this type.
    public func matches(_ name: DocumentName) -> Bool {
        patterns.contains { $0.matches(name.rawValue) }
    }

    /// The migrations as the engine runs them: the ops applied, the result checked later
    /// against the schema by the migration itself.
    var schemaMigrations: [SchemaMigration] {
        migrations.map { step in
            let ops = step.ops
            return SchemaMigration(from: step.from, initialState: .null) { json in try ops.apply(to: json) }
        }
    }
}

/// The documents of every declared type (none: every document is of the engine's own model).
public struct DeclaredTypes: Sendable {
    public let types: [DeclaredType]

    public static let none = DeclaredTypes(checked: [])

    /// Throws when two types' patterns could match the same name, naming both files and patterns.
    public init(_ types: [DeclaredType]) throws(DeclaredTypeError) {
        for (index, first) in types.enumerated() {
            for second in types[(index + 1)...] {
                for a in first.patterns {
                    for b in second.patterns where a.overlaps(b) {
                        throw DeclaredTypeError(
                            file: second.file, pointer: "/x-patchsync/documents",
                            reason: "pattern \"\(b)\" of type \(second.name) overlaps pattern \"\(a)\" of type "
                                + "\(first.name) (\(first.file)): a document name would have two types")
                    }
                }
            }
        }
        self.init(checked: types)
    }

    private init(checked types: [DeclaredType]) {
        self.types = types
    }

    /// The type of the document `name`, nil for the engine's own model.
    public func type(of name: DocumentName) -> DeclaredType? {
        types.first { $0.matches(name) }
    }
}

/// Why a declared type cannot be used: the file, the JSON Pointer inside it, and the reason.
public struct DeclaredTypeError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let pointer: String
    public let reason: String

    public init(file: String, pointer: String, reason: String) {
        self.file = file
        self.pointer = pointer
        self.reason = reason
    }

    public var description: String { "\(file): \(pointer.isEmpty ? "(root)" : pointer): \(reason)" }
}

/// The state of a declared type's document: the JSON itself.
public struct DeclaredState: Codable, Sendable {
    public var json: JSONValue

    public init(_ json: JSONValue) {
        self.json = json
    }

    // The engine never encodes or decodes it through Codable: `DeclaredDocument` hands the
    // JSON over as it is (`DocumentKind.decode`, `jsonValue(of:)`).
    public init(from decoder: any Decoder) throws {
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "JSON only"))
    }

    public func encode(to encoder: any Encoder) throws {
        throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath, debugDescription: "JSON only"))
    }
}

/// The model of every declared type: the JSON is the state, raw Patches the only writes. What
/// varies per type (schema, version, default) is in the `DocumentKind` the engine holds per document.
public enum DeclaredDocument: DocumentModel {
    /// Never decoded: a document of a declared type refuses typed actions before decoding.
    public struct Action: Codable, Sendable {
        public init(from decoder: any Decoder) throws {
            throw ActionRejected(.invalidAction, "a document of a declared type takes Patch messages only")
        }

        public func encode(to encoder: any Encoder) throws {}
    }

    public static var initialState: DeclaredState { DeclaredState(.object([:])) }
    public static var stateKey: String { "state" }
    public static var schemaVersion: Int { 1 }
    public static var acceptsRawPatches: Bool { true }
    public static var modelName: String { "declared" }

    public static func reduce(_ state: inout DeclaredState, _ action: Action) throws(ActionRejected) {
        throw ActionRejected(.invalidAction, "a document of a declared type takes Patch messages only")
    }

    public static func jsonValue(of state: DeclaredState) -> JSONValue {
        state.json
    }
}
