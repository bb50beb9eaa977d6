import JSONPatch

/// Finds where valid JSON text first nests deeper than `JSONLimits.maximumDepth`, so that the
/// error can say where, like jansson's own errors.
enum NestingScanner {
    static func tooDeepError(in bytes: [UInt8]) -> JSONDecodingError {
        var depth = 0
        var line = 1
        var column = 0
        var inString = false
        var escaped = false
        for (offset, byte) in bytes.enumerated() {
            column += 1
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > JSONLimits.maximumDepth {
                    return error(line: line, column: column, position: offset + 1)
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            case UInt8(ascii: "\n"):
                line += 1
                column = 0
            default:
                break
            }
        }
        return error(line: line, column: column, position: bytes.count)
    }

    private static func error(line: Int, column: Int, position: Int) -> JSONDecodingError {
        JSONDecodingError(
            reason: .tooDeep, line: line, column: column, position: position,
            message: "arrays and objects nested deeper than \(JSONLimits.maximumDepth) levels")
    }
}
