/// A glob over document names: `*` matches any run of characters (also none), `?` any one
/// character, everything else itself (`line-*`, `shift-??`).
public struct DocumentNamePattern: Sendable, Hashable, CustomStringConvertible {
    private enum Element: Hashable {
        case character(Character)
        case any
        case run
    }

    public let description: String
    private let elements: [Element]

    public init(_ text: String) {
        description = text
        elements = text.map { $0 == "*" ? .run : $0 == "?" ? .any : .character($0) }
    }

    public func matches(_ name: String) -> Bool {
        let characters = Array(name)
        // reachable[j]: the first i elements can match the first j characters.
        var reachable = [Bool](repeating: false, count: characters.count + 1)
        reachable[0] = true
        for element in elements {
            var next = [Bool](repeating: false, count: characters.count + 1)
            for j in 0...characters.count where reachable[j] || (element == .run && j > 0 && next[j - 1]) {
                switch element {
                case .run:
                    next[j] = true
                case .any:
                    if reachable[j], j < characters.count { next[j + 1] = true }
                case .character(let c):
                    if reachable[j], j < characters.count, characters[j] == c { next[j + 1] = true }
                }
            }
            reachable = next
        }
        return reachable[characters.count]
    }

    /// Whether some name matches both patterns: a search over pairs of positions, one in each.
    public func overlaps(_ other: DocumentNamePattern) -> Bool {
        let a = elements
        let b = other.elements
        var seen = Set<[Int]>()
        var pending: [[Int]] = [[0, 0]]
        while let pair = pending.popLast() {
            guard seen.insert(pair).inserted else { continue }
            let (i, j) = (pair[0], pair[1])
            if i == a.count && j == b.count { return true }
            // A run may match nothing.
            if i < a.count, a[i] == .run { pending.append([i + 1, j]) }
            if j < b.count, b[j] == .run { pending.append([i, j + 1]) }
            // Both consume one character of the name, when some character fits both.
            guard i < a.count, j < b.count else { continue }
            let fits: Bool
            switch (a[i], b[j]) {
            case (.character(let x), .character(let y)): fits = x == y
            default: fits = true
            }
            guard fits else { continue }
            // A run stays where it is after taking a character.
            pending.append([a[i] == .run ? i : i + 1, b[j] == .run ? j : j + 1])
        }
        return false
    }
}
