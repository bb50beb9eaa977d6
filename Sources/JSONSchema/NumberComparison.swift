import JSONPatch

/// Exact comparison and divisibility of JSON numbers, whether `Int64` or `Double`: a bound of
/// `9007199254740993` must not round to a `Double` before it is compared with an integer.
enum NumberComparison {
    /// -1, 0 or 1 as `a` is less than, equal to or greater than `b`; nil when either is not a number.
    static func compare(_ a: JSONValue, _ b: JSONValue) -> Int? {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.real(let x), .real(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.integer(let x), .real(let y)): return compare(x, y)
        case (.real(let x), .integer(let y)): return -compare(y, x)
        default: return nil
        }
    }

    private static func compare(_ integer: Int64, _ real: Double) -> Int {
        if real.isNaN { return 0 }
        if real >= 9_223_372_036_854_775_808.0 { return -1 }
        if real < -9_223_372_036_854_775_808.0 { return 1 }
        let floor = real.rounded(.down)
        let whole = Int64(floor)
        if integer < whole { return -1 }
        if integer > whole { return 1 }
        return real > floor ? -1 : 0
    }

    /// Whether `value` is an integer multiple of `divisor` (which is greater than 0).
    static func isMultiple(_ value: JSONValue, of divisor: JSONValue) -> Bool {
        switch (value, divisor) {
        case (.integer(let x), .integer(let d)):
            return x % d == 0
        default:
            guard let x = doubleValue(value), let d = doubleValue(divisor) else { return false }
            let quotient = x / d
            // A quotient too large for a Double is no exact multiple worth claiming.
            guard quotient.isFinite else { return false }
            if quotient.rounded() == quotient { return true }
            // Decimal divisors like 0.01 are not exact in binary: accept a quotient within a few
            // ulps of a whole number, as the test suite's `0.0075 / 0.0001` requires.
            return abs(quotient - quotient.rounded()) <= quotient.magnitude.ulp * 4
        }
    }

    static func doubleValue(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let integer): Double(integer)
        case .real(let real): real
        default: nil
        }
    }
}
