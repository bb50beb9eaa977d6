import JSONPatch

/// JSON text to `JSONValue` and back.
///
/// Decoding goes through jansson (see `JSONDecoder`); encoding is written directly in Swift,
/// compact and deterministic (members in insertion order), with reals printed in their
/// shortest form that reads back to the same double.
public enum JSONCodec {
    /// What to do with a key that appears twice in one object.
    public enum DuplicateKeys: Sendable {
        /// A `.duplicateKey` error: RFC 8259 leaves the meaning open, and RFC 6902 calls an
        /// operation with two `op` members invalid. The default.
        case reject
        /// The last occurrence wins, for reading third-party files known to contain some.
        case keepLast
    }

    /// Decodes one JSON text. Any value is accepted at the root, `\u0000` in strings is kept;
    /// numbers must fit Int64 or a finite double, nesting must not exceed
    /// `JSONLimits.maximumDepth`.
    public static func decode(
        _ bytes: [UInt8], duplicateKeys: DuplicateKeys = .reject
    ) throws(JSONDecodingError) -> JSONValue {
        try JanssonDecoder.decode(bytes, rejectingDuplicateKeys: duplicateKeys == .reject)
    }

    public static func decode(
        _ text: String, duplicateKeys: DuplicateKeys = .reject
    ) throws(JSONDecodingError) -> JSONValue {
        try decode(Array(text.utf8), duplicateKeys: duplicateKeys)
    }

    /// Compact UTF-8 JSON text.
    public static func encode(_ value: JSONValue) throws(JSONEncodingError) -> [UInt8] {
        var writer = JSONWriter()
        try writer.write(value, depthBudget: JSONLimits.maximumDepth)
        return writer.bytes
    }

    public static func encodeString(_ value: JSONValue) throws(JSONEncodingError) -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }
}
