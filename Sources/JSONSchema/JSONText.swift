import JSONPatch

/// JSON text of values for messages, cut short so a message about a large value stays one line.
/// (The codec is jansson, which this library must not depend on.)
enum JSONText {
    static let briefLimit = 60

    /// The value as compact JSON, at most about `briefLimit` characters (`…` marks a cut).
    static func brief(_ value: JSONValue) -> String {
        var text = ""
        write(value, into: &text, limit: briefLimit)
        if text.count > briefLimit {
            return String(text.prefix(briefLimit)) + "…"
        }
        return text
    }

    static func quoted(_ string: String) -> String {
        var text = ""
        writeString(string, into: &text)
        return text
    }

    /// "\"run\", \"stop\", \"alarm\"", cut after `limit` values.
    static func list(_ values: [JSONValue], limit: Int = 10) -> String {
        var parts = values.prefix(limit).map(brief)
        if values.count > limit { parts.append("… (\(values.count) values)") }
        return parts.joined(separator: ", ")
    }

    private static func write(_ value: JSONValue, into text: inout String, limit: Int) {
        guard text.utf8.count <= limit else { return }
        switch value {
        case .null: text += "null"
        case .bool(let bool): text += bool ? "true" : "false"
        case .integer(let integer): text += String(integer)
        case .real(let real): text += real.description
        case .string(let string): writeString(string, into: &text)
        case .array(let array):
            text += "["
            for (position, element) in array.enumerated() {
                if position > 0 { text += "," }
                write(element, into: &text, limit: limit)
                if text.utf8.count > limit { return }
            }
            text += "]"
        case .object(let object):
            text += "{"
            for (position, member) in object.enumerated() {
                if position > 0 { text += "," }
                writeString(member.key, into: &text)
                text += ":"
                write(member.value, into: &text, limit: limit)
                if text.utf8.count > limit { return }
            }
            text += "}"
        }
    }

    private static func writeString(_ string: String, into text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
