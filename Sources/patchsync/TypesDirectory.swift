import JSONCodec
import JSONPatch
import FileStore
import SyncEngine

/// `--types DIR`: every `DIR/NAME.json` declares the document type `NAME` (see docs/types.md).
enum TypesDirectory {
    /// The types of `directory`, checked: each file read, its schema compiled, its default
    /// validated, and no two types' patterns overlapping. The error names the file, the JSON
    /// Pointer inside it and the reason.
    /// `reserved`: the built-in model's name, which no type may take.
    static func load(_ directory: String, reserved: String, storage: any StorageIO = PosixStorageIO())
        throws(DeclaredTypeError) -> DeclaredTypes
    {
        let entries: [String]
        do {
            entries = try storage.listDirectory(directory)
        } catch {
            throw DeclaredTypeError(file: directory, pointer: "", reason: "cannot list the types directory: \(error)")
        }
        var types: [DeclaredType] = []
        for entry in entries.sorted() where entry.hasSuffix(".json") {
            let path = directory + "/" + entry
            let bytes: [UInt8]?
            do {
                bytes = try storage.readFile(path)
            } catch {
                throw DeclaredTypeError(file: path, pointer: "", reason: "cannot read: \(error)")
            }
            let name = String(entry.dropLast(".json".count))
            guard name != reserved else {
                throw DeclaredTypeError(
                    file: path, pointer: "", reason: "\"\(reserved)\" is the built-in model's name; rename the file")
            }
            let schema: JSONValue
            do {
                schema = try JSONCodec.decode(bytes ?? [])
            } catch {
                throw DeclaredTypeError(file: path, pointer: "", reason: "not JSON: \(error)")
            }
            types.append(
                try DeclaredType(
                    name: name, file: path, schema: schema,
                    compile: TypeSchema.compile))
        }
        return try DeclaredTypes(types)
    }
}
