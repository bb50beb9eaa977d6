import JSONPatch

/// Why a value cannot be written as JSON.
public struct JSONEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// NaN or an infinity: JSON has no text for them.
        case nonFiniteNumber
        /// Arrays and objects nested deeper than `JSONLimits.maximumDepth`.
        case tooDeep
        /// An object key holding `\u0000`: jansson (`JSONCodec.decode`) cannot read such a key
        /// back, so a log line or snapshot holding one would not load.
        case nulInKey
    }

    public var reason: Reason

    public init(reason: Reason) {
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .nonFiniteNumber: "cannot encode a NaN or infinite number as JSON"
        case .tooDeep: "cannot encode a value nested deeper than \(JSONLimits.maximumDepth) levels"
        case .nulInKey: "cannot encode an object key holding \\u0000: it would not decode"
        }
    }
}
