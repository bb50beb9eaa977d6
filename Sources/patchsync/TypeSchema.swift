import JSONPatch
import JSONSchema
import SyncEngine

/// A declared type's JSON Schema as the engine's validator: compiled once at start-up; every
/// write is checked where its patch changed the document (`JSONSchema`'s incremental check,
/// equal to a whole validation of a document that was valid before).
struct TypeSchema: StateValidator {
    let schema: JSONSchema

    /// Compiles strictly: a keyword the validator does not implement is refused, never ignored.
    static func compile(_ json: JSONValue) throws(SchemaRefusal) -> any StateValidator {
        do {
            return TypeSchema(schema: try JSONSchema(compiling: json))
        } catch {
            throw SchemaRefusal(pointer: error.schemaPointer.description, reason: error.reason)
        }
    }

    func firstFailure(in state: JSONValue) -> String? {
        schema.firstFailure(in: state)?.description
    }

    func firstFailure(in state: JSONValue, changedBy change: JSONPatch) -> String? {
        schema.firstFailure(in: state, after: change.operations)?.description
    }
}
