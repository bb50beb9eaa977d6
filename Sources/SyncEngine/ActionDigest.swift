import JSONPatch

/// A 64-bit FNV-1a digest of an action as the client sent it (without its `id`), stored with the
/// event so that a resend can be told from another action reusing the id, even though the log
/// keeps the action in its own form.
///
/// Equal JSON gives equal digests whatever the member order, and numbers that compare equal
/// (`1` and `1.0`) digest alike, matching `JSONValue`'s equality.
struct ActionDigest: Hashable, Sendable, CustomStringConvertible {
    let rawValue: UInt64

    init(_ value: JSONValue) {
        var hasher = FNV1a()
        hasher.feed(value)
        rawValue = hasher.state
    }

    /// Reads the 16 hexadecimal digits of `description`.
    init?(hex: String) {
        guard hex.utf8.count == 16, let value = UInt64(hex, radix: 16) else { return nil }
        rawValue = value
    }

    var description: String {
        let digits = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

private struct FNV1a {
    private(set) var state: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func feed(_ value: JSONValue) {
        switch value {
        case .null: byte(0)
        case .bool(let bool): byte(bool ? 2 : 1)
        case .integer(let integer): number(integer)
        case .real(let real):
            if let integer = Int64(exactly: real) {
                number(integer)
            } else {
                byte(4)
                word(real.bitPattern)
            }
        case .string(let string): text(string, tag: 5)
        case .array(let elements):
            byte(6)
            word(UInt64(elements.count))
            for element in elements { feed(element) }
        case .object(let object):
            byte(7)
            word(UInt64(object.count))
            for key in object.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                text(key, tag: 8)
                if let member = object[key] { feed(member) }
            }
        }
    }

    private mutating func number(_ integer: Int64) {
        byte(3)
        word(UInt64(bitPattern: integer))
    }

    private mutating func text(_ string: String, tag: UInt8) {
        byte(tag)
        word(UInt64(string.utf8.count))
        for unit in string.utf8 { byte(unit) }
    }

    private mutating func word(_ word: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { byte(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
    }

    private mutating func byte(_ byte: UInt8) {
        state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
}
