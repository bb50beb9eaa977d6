import JSONPatch

/// The version of the layout of log lines and snapshots (not of the state inside them, which is
/// the model's schema version).
///
///     1  earlier releases: no "format" and no "schema" members (schema 1)
///     2  "format" and "schema" on every log line and snapshot; client, id and name on events
public enum StoredFormat {
    public static let current = 2

    /// Refuses a line or snapshot written by a newer release, which this binary cannot read correctly.
    public static func check(_ object: JSONObject, path: String, line: Int?) throws(StorageError) {
        guard let member = object["format"] else { return }
        guard let format = member.integerValue, format >= 1 else {
            throw StorageError.corrupt(path, line: line, "\"format\" must be a positive integer")
        }
        guard format <= current else {
            throw StorageError(
                kind: .newerFormat, path: path, line: line,
                message: "written in format \(format), but this patchsync reads formats up to \(current); "
                    + "run a newer release")
        }
    }

    /// The schema version stored with a line or snapshot; 1 when absent (written before schemas existed).
    public static func schema(in object: JSONObject) throws(EventFormatError) -> Int {
        guard let member = object["schema"] else { return 1 }
        guard let schema = member.integerValue, schema >= 1, schema <= Int64(Int32.max) else {
            throw EventFormatError("\"schema\" must be a positive integer")
        }
        return Int(schema)
    }
}
