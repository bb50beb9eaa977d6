/// A glob over document names, from a token's `patchsync.read` or `patchsync.write`:
/// `*` matches any run of characters (also none), `?` exactly one, anything else itself.
/// `line-*` matches `line-3` and `line-`; `*` matches every document.
public struct DocumentPattern: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    private let pattern: [UInt8]

    public init(_ text: String) {
        self.text = text
        pattern = Array(text.utf8)
    }

    public var description: String { text }

    public func matches(_ name: String) -> Bool {
        // Iterative matching with one backtrack point: linear in practice, never exponential.
        let name = Array(name.utf8)
        var p = 0
        var n = 0
        var star: Int? = nil
        var resume = 0
        while n < name.count {
            // `*` first: in a pattern it is never a literal, even against a `*` in the name.
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p
                resume = n
                p += 1
            } else if p < pattern.count, pattern[p] == UInt8(ascii: "?") || pattern[p] == name[n] {
                p += 1
                n += 1
            } else if let star {
                p = star + 1
                resume += 1
                n = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}
