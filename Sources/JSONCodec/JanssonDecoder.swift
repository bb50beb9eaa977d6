import CJansson
import JSONPatch
import OrderedCollections

/// Parses JSON text with jansson and converts jansson's tree into a `JSONValue`.
///
/// The only file that imports CJansson: every jansson value it gets is released before it
/// returns.
enum JanssonDecoder {
    /// Scalars at the root and `\u0000` in strings are valid JSON, so both are accepted.
    /// Duplicate keys are rejected unless asked otherwise: RFC 8259 leaves their meaning open,
    /// and a patch computed against one reading of such a document would silently disagree
    /// with another reader's.
    static func decode(_ bytes: [UInt8], rejectingDuplicateKeys: Bool) throws(JSONDecodingError) -> JSONValue {
        var flags = Int(JSON_DECODE_ANY | JSON_ALLOW_NUL)
        if rejectingDuplicateKeys { flags |= Int(JSON_REJECT_DUPLICATES) }
        var error = json_error_t()
        let parsed: UnsafeMutablePointer<json_t>? = bytes.withUnsafeBufferPointer { buffer in
            // jansson rejects a null buffer even with length 0; an empty text is a syntax error.
            guard let base = buffer.baseAddress else {
                return [CChar(0)].withUnsafeBufferPointer { json_loadb($0.baseAddress, 0, flags, &error) }
            }
            return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                json_loadb($0, buffer.count, flags, &error)
            }
        }
        guard let root = parsed else { throw decodingError(from: &error) }
        defer { json_decref(root) }
        guard let value = convert(root, depthBudget: JSONLimits.maximumDepth) else {
            throw NestingScanner.tooDeepError(in: bytes)
        }
        return value
    }

    /// The value for `json`, or nil when it nests deeper than `depthBudget`.
    private static func convert(_ json: UnsafeMutablePointer<json_t>, depthBudget: Int) -> JSONValue? {
        switch json.pointee.type {
        case JSON_NULL:
            return .null
        case JSON_TRUE:
            return .bool(true)
        case JSON_FALSE:
            return .bool(false)
        case JSON_INTEGER:
            return .integer(Int64(json_integer_value(json)))
        case JSON_REAL:
            return .real(json_real_value(json))
        case JSON_STRING:
            return .string(string(json_string_value(json), length: json_string_length(json)))
        case JSON_ARRAY:
            guard depthBudget > 0 else { return nil }
            let count = json_array_size(json)
            var elements: [JSONValue] = []
            elements.reserveCapacity(count)
            for index in 0..<count {
                guard let element = json_array_get(json, index),
                    let value = convert(element, depthBudget: depthBudget - 1)
                else { return nil }
                elements.append(value)
            }
            return .array(elements)
        case JSON_OBJECT:
            guard depthBudget > 0 else { return nil }
            let count = json_object_size(json)
            var keys: [String] = []
            var values: [JSONValue] = []
            keys.reserveCapacity(count)
            values.reserveCapacity(count)
            var iterator = json_object_iter(json)
            while let current = iterator {
                guard let member = json_object_iter_value(current),
                    let value = convert(member, depthBudget: depthBudget - 1)
                else { return nil }
                keys.append(string(json_object_iter_key(current), length: json_object_iter_key_len(current)))
                values.append(value)
                iterator = json_object_iter_next(json, current)
            }
            // jansson keeps one entry per key, so the keys are unique.
            return .object(JSONObject(OrderedDictionary(uncheckedUniqueKeys: keys, values: values)))
        default:
            return .null
        }
    }

    /// jansson has already checked the bytes are UTF-8; they may contain NUL.
    private static func string(_ pointer: UnsafePointer<CChar>?, length: Int) -> String {
        guard let pointer else { return "" }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    private static func decodingError(from error: inout json_error_t) -> JSONDecodingError {
        let reason: JSONDecodingError.Reason
        switch json_error_code(&error) {
        case json_error_numeric_overflow: reason = .numberOutOfRange
        case json_error_invalid_utf8: reason = .invalidUTF8
        case json_error_duplicate_key: reason = .duplicateKey
        case json_error_stack_overflow: reason = .tooDeep
        case json_error_null_byte_in_key: reason = .nulInKey
        default: reason = .syntax
        }
        let message = withUnsafeBytes(of: &error.text) { raw in
            // The text is NUL-terminated; its last byte holds the error code.
            let bytes = raw.prefix(Int(JSON_ERROR_TEXT_LENGTH) - 1)
            return String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return JSONDecodingError(
            reason: reason, line: Int(error.line), column: Int(error.column), position: Int(error.position),
            message: message)
    }
}
