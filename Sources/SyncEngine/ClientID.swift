/// The name a client gives itself with `?client=ID`: 1 to 64 letters, digits, `-` and `_`.
///
/// With it, `(client, id)` identifies an action across reconnects, so a resent action is
/// answered with its original outcome instead of being applied twice.
public struct ClientID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init?(_ string: String) {
        guard isIdentifier(string) else { return nil }
        rawValue = string
    }

    public var description: String { rawValue }
}

/// Whether `string` is 1 to 64 ASCII letters, digits, `-` or `_`: the rule for document names
/// and client IDs, which appear in paths, URLs and log lines unescaped.
func isIdentifier(_ string: String) -> Bool {
    (1...64).contains(string.utf8.count)
        && string.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F
        }
}
