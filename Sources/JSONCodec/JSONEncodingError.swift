import JSONPatch

/// Why a value cannot be written as JSON.
public struct JSONEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// NaN or an infinity: JSON has no text for them.
        case nonFiniteNumber
        /// Arrays and objects nested deeper than `JSONLimits.maximumDepth`.
        case tooDeep
    }

    public var reason: Reason

    public init(reason: Reason) {
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .nonFiniteNumber: "cannot encode a NaN or infinite number as JSON"
        case .tooDeep: "cannot encode a value nested deeper than \(JSONLimits.maximumDepth) levels"
        }
    }
}
