import JSONPatch

/// The retained history of a document: the state at `baseVersion` and every event after it.
///
/// Resume, history queries, revert and replay all work within this window. `replay` is the one
/// place events are applied to a stored state, by every store and by catch-up.
public struct DocumentHistory: Sendable {
    public private(set) var baseVersion: UInt64
    /// The model's schema version of `baseState`.
    public private(set) var baseSchema: Int
    public private(set) var baseState: JSONValue
    /// Consecutive events, versions `baseVersion + 1 ... latestVersion`.
    public private(set) var events: [DocumentEvent] = []

    public init(baseVersion: UInt64, baseSchema: Int, baseState: JSONValue) {
        self.baseVersion = baseVersion
        self.baseSchema = baseSchema
        self.baseState = baseState
    }

    public var latestVersion: UInt64 { events.last?.version ?? baseVersion }

    /// The schema version of the latest state.
    public var latestSchema: Int { events.last?.schema ?? baseSchema }

    /// The schema version of the state at `version`, which must be inside the window.
    public func schema(at version: UInt64) -> Int {
        version == baseVersion ? baseSchema : events[Int(version - baseVersion) - 1].schema
    }

    /// Adds events that follow `latestVersion` one by one (the caller has replayed them).
    public mutating func append(_ newEvents: [DocumentEvent]) throws(ReplayError) {
        try Self.checkConsecutive(newEvents, after: latestVersion, through: nil)
        events.append(contentsOf: newEvents)
    }

    /// The events after `version`, or nil when the window does not reach back that far
    /// (or `version` is in the future).
    public func events(after version: UInt64) -> ArraySlice<DocumentEvent>? {
        guard version >= baseVersion, version <= latestVersion else { return nil }
        return events[Int(version - baseVersion)...]
    }

    /// The state at `version`, or nil when it is outside the window.
    public func state(at version: UInt64) throws(ReplayError) -> JSONValue? {
        guard version >= baseVersion, version <= latestVersion else { return nil }
        var state = baseState
        try Self.replay(events[..<Int(version - baseVersion)], onto: &state, after: baseVersion)
        return state
    }

    /// Moves the base forward past the first `count` events, whose result is `state`.
    public mutating func dropFirst(_ count: Int, newBaseState state: JSONValue) {
        guard count > 0, count <= events.count else { return }
        baseVersion = events[count - 1].version
        baseSchema = events[count - 1].schema
        baseState = state
        events.removeFirst(count)
    }

    /// Applies `events` to `state`, the state at `version`: they must follow it one by one (and
    /// reach `last`, when given), since a gap or a repeat would build a state no writer ever had.
    /// Returns the version reached. On a throw, `state` holds the events applied before the bad one.
    @discardableResult
    public static func replay<Events: Sequence<DocumentEvent>>(
        _ events: Events, onto state: inout JSONValue, after version: UInt64, through last: UInt64? = nil
    ) throws(ReplayError) -> UInt64 {
        var reached = version
        for event in events {
            guard event.version == reached + 1 else {
                throw ReplayError(.notConsecutive(expected: reached + 1, found: event.version))
            }
            do {
                try event.ops.applyInPlace(to: &state)
            } catch {
                throw ReplayError(.doesNotApply(version: event.version, error))
            }
            reached = event.version
        }
        if let last, reached < last { throw ReplayError(.endsEarly(at: reached, expected: last)) }
        return reached
    }

    /// The check of `replay` without applying anything.
    public static func checkConsecutive(_ events: [DocumentEvent], after version: UInt64, through last: UInt64?)
        throws(ReplayError)
    {
        var reached = version
        for event in events {
            guard event.version == reached + 1 else {
                throw ReplayError(.notConsecutive(expected: reached + 1, found: event.version))
            }
            reached = event.version
        }
        if let last, reached < last { throw ReplayError(.endsEarly(at: reached, expected: last)) }
    }
}

/// Why stored events could not be replayed; the store adds which document or file.
public struct ReplayError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// An event's version does not follow the one before it (a gap or a repeat).
        case notConsecutive(expected: UInt64, found: UInt64)
        /// An event's ops do not apply to the state before it.
        case doesNotApply(version: UInt64, JSONPatchError)
        /// The events end before the version they were read for.
        case endsEarly(at: UInt64, expected: UInt64)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .notConsecutive(let expected, let found): "expected version \(expected), found version \(found)"
        case .doesNotApply(let version, let error): "the ops of version \(version) do not apply: \(error)"
        case .endsEarly(let reached, let expected): "the events end at version \(reached), before version \(expected)"
        }
    }
}
