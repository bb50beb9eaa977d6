/// The bounds on a Hello's `name`, checked the same way for a client's message and for another
/// instance's presence entry.
///
/// Bytes are what memory, logs and broadcasts pay, and are counted first, before anything walks
/// the text: `"e"` with 30,000 combining accents is one character but 60 KB. Characters
/// (grapheme clusters) bound what the page shows; runs of combining marks are bounded as the
/// Stream-Safe Text Format (UAX #15) does, so a name cannot stack marks into a streak over the page.
public enum PresenceName {
    /// At most this many UTF-8 bytes (PROTOCOL.md).
    public static let maximumBytes = 256
    /// At most this many characters.
    public static let maximumCharacters = 64
    /// At most this many combining marks in a row (UAX #15's stream-safe limit).
    public static let maximumCombiningMarksInARow = 30

    /// Why `name` is refused, or nil when it is within bounds.
    public static func refusal(of name: String) -> String? {
        let bytes = name.utf8.count
        if bytes > maximumBytes {
            return "name: \(bytes) bytes of UTF-8; at most \(maximumBytes)"
        }
        var run = 0
        for scalar in name.unicodeScalars {
            run = scalar.properties.canonicalCombiningClass == .notReordered ? 0 : run + 1
            if run > maximumCombiningMarksInARow {
                return "name: more than \(maximumCombiningMarksInARow) combining marks in a row"
            }
        }
        if name.count > maximumCharacters {
            return "name: at most \(maximumCharacters) characters"
        }
        return nil
    }
}
