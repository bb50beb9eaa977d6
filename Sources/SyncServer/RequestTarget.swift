/// Checks what lws leaves of a request line for what its parser would otherwise cut silently.
///
/// lws 4.1.6 ends the target at the first space (`?client=a b` arrives as `client=a`, with `b`
/// glued to the HTTP version) and splits the query at `;` as at `&` (`?client=a;b` arrives as
/// `client=a` and `b`). The raw line is not kept, so the traces are checked instead: a version
/// that is not exactly `HTTP/1.x`, a non-empty argument without `=`, a name given twice. Each is refused
/// whole (HTTP 400) rather than read as the shorter value.
enum RequestTarget {
    enum Refusal: Error, Equatable, CustomStringConvertible {
        case malformedRequestLine(version: String)
        case argumentWithoutValue(String)
        case repeatedArgument(String)

        var description: String {
            switch self {
            case .malformedRequestLine(let version):
                "malformed request line (a space or control byte in the URL?): version '\(Self.shown(version))'"
            case .argumentWithoutValue(let name):
                "query argument '\(Self.shown(name))' has no value: give name=value, separated by &"
            case .repeatedArgument(let name):
                "query argument '\(Self.shown(name))' is given more than once"
            }
        }

        /// At most 64 characters of what the client sent, for a refusal that may be logged.
        private static func shown(_ text: String) -> String {
            let scalars = text.unicodeScalars.prefix(64).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) }
            return String(scalars) + (text.unicodeScalars.count > 64 ? "…" : "")
        }
    }

    /// `fragments` are the query's pieces as lws split them (`name=value` each, URL-decoded).
    static func check(httpVersion: String?, queryFragments fragments: [String]) -> Refusal? {
        guard let httpVersion, httpVersion == "HTTP/1.1" || httpVersion == "HTTP/1.0" else {
            return .malformedRequestLine(version: httpVersion ?? "")
        }
        var seen: Set<Substring> = []
        // An empty piece (`?`, `?a=1&`) is nothing cut off: ignored.
        for fragment in fragments where !fragment.isEmpty {
            guard let equals = fragment.firstIndex(of: "=") else { return .argumentWithoutValue(fragment) }
            let name = fragment[..<equals]
            guard seen.insert(name).inserted else { return .repeatedArgument(String(name)) }
        }
        return nil
    }
}
