import JSONCodec
import JSONPatch

/// Compact JSON text of a value, for readable failure messages.
func jsonText(_ value: JSONValue) -> String {
    (try? JSONCodec.encodeString(value)) ?? "<unencodable>"
}
