/// A number as people read it in messages: `99999999999`, not `99999999999.0`.
///
/// Swift prints every `Double` with a fraction; an integral one within `Int64` prints as an
/// integer here, anything else (fractions, huge values, infinities) as Swift prints it.
public func numberText(_ value: Double) -> String {
    if value == value.rounded(), value >= -9.2e18, value <= 9.2e18 {
        return String(Int64(value))
    }
    return "\(value)"
}

/// A duration in seconds, as `numberText` prints them (`10`, `0.25`).
public func secondsText(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    return numberText(Double(seconds) + Double(attoseconds) / 1e18)
}
