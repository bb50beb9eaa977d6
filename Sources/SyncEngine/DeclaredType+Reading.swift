import JSONPatch

/// A schema that could not be compiled: the JSON Pointer inside the schema and why.
public struct SchemaRefusal: Error, Sendable {
    public let pointer: String
    public let reason: String

    public init(pointer: String, reason: String) {
        self.pointer = pointer
        self.reason = reason
    }
}

extension DeclaredType {
    /// The members `x-patchsync` may hold; any other is refused rather than ignored.
    static let annotationMembers: Set<String> = ["documents", "version", "migrations", "title"]

    /// Reads the type `name` from its schema file's JSON: `x-patchsync` (documents, version,
    /// migrations, title), the schema compiled by `compile`, and the root `default`, which must
    /// validate. Every refusal names `file`, the JSON Pointer inside it and the reason.
    public init(
        name: String, file: String, schema: JSONValue,
        compile: (JSONValue) throws(SchemaRefusal) -> any StateValidator
    ) throws(DeclaredTypeError) {
        func refuse(_ pointer: String, _ reason: String) -> DeclaredTypeError {
            DeclaredTypeError(file: file, pointer: pointer, reason: reason)
        }
        guard DocumentName(name) != nil else {
            throw refuse("", "the type's name \"\(name)\" (the file's name) must be 1-64 of A-Z a-z 0-9 _ -")
        }
        guard case .object(let root) = schema else {
            throw refuse("", "a type's schema must be an object (with \"default\" and \"x-patchsync\"), not \(schema.typeName)")
        }
        guard case .object(let annotation)? = root["x-patchsync"] else {
            throw refuse("/x-patchsync", "missing, or not an object: it must hold \"documents\", the names of the type's documents")
        }
        if let unknown = annotation.keys.first(where: { !Self.annotationMembers.contains($0) }) {
            throw refuse(
                "\(JSONPointer(tokens: ["x-patchsync", unknown]))",
                "unknown member; x-patchsync holds documents, version, migrations and title")
        }
        guard case .array(let globs)? = annotation["documents"], !globs.isEmpty else {
            throw refuse("/x-patchsync/documents", "must be a non-empty array of name patterns such as \"line-*\"")
        }
        var patterns: [DocumentNamePattern] = []
        for (index, glob) in globs.enumerated() {
            guard let text = glob.stringValue, !text.isEmpty,
                DocumentName(text.replacingStars()) != nil
            else {
                throw refuse(
                    "/x-patchsync/documents/\(index)",
                    "a pattern is a document name (A-Z a-z 0-9 _ -) that may hold * and ?")
            }
            patterns.append(DocumentNamePattern(text))
        }
        var version = 1
        if let member = annotation["version"] {
            guard let integer = member.integerValue, integer >= 1, integer <= Int64(Int32.max) else {
                throw refuse("/x-patchsync/version", "must be a positive integer")
            }
            version = Int(integer)
        }
        var migrations: [(from: Int, ops: JSONPatch)] = []
        if let member = annotation["migrations"] {
            guard case .object(let steps) = member else {
                throw refuse("/x-patchsync/migrations", "must be an object: {\"1\": [JSON Patch ops], ...}")
            }
            for (key, ops) in steps {
                let pointer = "\(JSONPointer(tokens: ["x-patchsync", "migrations", key]))"
                guard let from = Int(key), from >= 1, from < version, String(from) == key else {
                    throw refuse(pointer, "a migration's key is the schema version it starts from, 1 to \(version - 1)")
                }
                do {
                    migrations.append((from, try JSONPatch(json: ops)))
                } catch {
                    throw refuse(pointer, "not a JSON Patch: \(error)")
                }
            }
            let missing = (1..<version).filter { from in !migrations.contains { $0.from == from } }
            if let first = missing.first {
                throw refuse("/x-patchsync/migrations", "version \(version) needs a migration from each older version; \"\(first)\" is missing")
            }
        } else if version > 1 {
            throw refuse("/x-patchsync/migrations", "version \(version) needs a migration from each older version, from \"1\"")
        }
        var titlePointer: JSONPointer?
        if let member = annotation["title"] {
            guard let text = member.stringValue, let pointer = try? JSONPointer(parsing: text) else {
                throw refuse("/x-patchsync/title", "must be a JSON Pointer to the value that titles a document")
            }
            titlePointer = pointer
        }
        guard let initialState = root["default"] else {
            throw refuse("/default", "missing: the root default is the state of a new document")
        }
        let validator: any StateValidator
        do {
            validator = try compile(schema)
        } catch {
            throw refuse(error.pointer, error.reason)
        }
        if let failure = validator.firstFailure(in: initialState) {
            throw refuse("/default", "the default fails the schema: \(failure)")
        }
        self.init(
            name: name, patterns: patterns, version: version, initialState: initialState, migrations: migrations,
            validator: validator, titlePointer: titlePointer, file: file, schema: schema)
    }
}

extension String {
    /// The pattern with its wildcards replaced by a name character, to check the rest.
    fileprivate func replacingStars() -> String {
        String(map { $0 == "*" || $0 == "?" ? "a" : $0 })
    }
}
