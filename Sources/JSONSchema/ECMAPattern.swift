/// A `pattern` or `patternProperties` regular expression, compiled once with the standard
/// library's `Regex` (which needs no Foundation).
///
/// JSON Schema patterns are ECMA-262 regexes. `Regex` reads a close superset of their syntax; the
/// differences that change what matches are bridged here:
/// - matching is on Unicode code points, not grapheme clusters (`.` matches one code point);
/// - `\d`, `\w`, `\b` are ASCII-only, as in ECMA-262 (`Regex` would take any Unicode digit);
/// - `\cX` (a control character) is rewritten, and `[^]` (any character) / `[]` (nothing).
/// Left as they are: lookbehind is refused by `Regex` (a compile error names the pattern), and
/// `Regex` accepts some syntax ECMA-262 would refuse (possessive quantifiers, `\Q…\E`).
struct ECMAPattern: @unchecked Sendable {
    /// The pattern as written in the schema.
    let source: String
    private let regex: Regex<AnyRegexOutput>

    init(_ source: String) throws(PatternError) {
        self.source = source
        let translated = try Self.translate(source)
        do {
            regex = try Regex(translated)
                .matchingSemantics(.unicodeScalar)
                .asciiOnlyDigits()
                .asciiOnlyWordCharacters()
        } catch {
            throw PatternError(reason: "\(error)")
        }
    }

    /// Whether the pattern matches anywhere in `text` (ECMA-262 patterns are not anchored).
    func matches(_ text: String) -> Bool {
        (try? regex.firstMatch(in: text)) != nil
    }

    struct PatternError: Error {
        var reason: String
    }

    /// Rewrites the few ECMA-262 forms that `Regex` reads differently or not at all.
    static func translate(_ source: String) throws(PatternError) -> String {
        var output = ""
        var scalars = Array(source.unicodeScalars)[...]
        var inClass = false
        while let scalar = scalars.popFirst() {
            switch scalar {
            case "\\":
                guard let escaped = scalars.popFirst() else {
                    throw PatternError(reason: "the pattern ends with a lone backslash")
                }
                if escaped == "c", let letter = scalars.first, letter.isASCII,
                    letter.properties.isAlphabetic
                {
                    scalars.removeFirst()
                    let control = letter.value % 32
                    output += "\\u{" + String(control, radix: 16) + "}"
                } else {
                    output.unicodeScalars.append(scalar)
                    output.unicodeScalars.append(escaped)
                }
            case "[" where !inClass:
                if scalars.starts(with: "^]".unicodeScalars) {
                    scalars.removeFirst(2)
                    output += "[\\s\\S]"
                } else if scalars.first == "]" {
                    scalars.removeFirst()
                    output += "(?!)"
                } else {
                    inClass = true
                    output += "["
                    // A `]` right after `[` or `[^` closes the class in ECMA-262 (handled above);
                    // `Regex` would read it as a literal, so nothing more to do here.
                }
            case "]" where inClass:
                inClass = false
                output += "]"
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
