import JSONPatch

/// The retained history of a document: the state at `baseVersion` and every event after it.
///
/// Resume, history queries, revert and replay all work within this window.
struct DocumentHistory: Sendable {
    private(set) var baseVersion: UInt64
    /// The model's schema version of `baseState`.
    private(set) var baseSchema: Int
    private(set) var baseState: JSONValue
    /// Consecutive events, versions `baseVersion + 1 ... latestVersion`.
    private(set) var events: [DocumentEvent] = []

    init(baseVersion: UInt64, baseSchema: Int, baseState: JSONValue) {
        self.baseVersion = baseVersion
        self.baseSchema = baseSchema
        self.baseState = baseState
    }

    var latestVersion: UInt64 { events.last?.version ?? baseVersion }

    /// The schema version of the latest state.
    var latestSchema: Int { events.last?.schema ?? baseSchema }

    /// The schema version of the state at `version`, which must be inside the window.
    func schema(at version: UInt64) -> Int {
        version == baseVersion ? baseSchema : events[Int(version - baseVersion) - 1].schema
    }

    mutating func append(_ newEvents: [DocumentEvent]) {
        events.append(contentsOf: newEvents)
    }

    /// The events after `version`, or nil when the window does not reach back that far
    /// (or `version` is in the future).
    func events(after version: UInt64) -> ArraySlice<DocumentEvent>? {
        guard version >= baseVersion, version <= latestVersion else { return nil }
        return events[Int(version - baseVersion)...]
    }

    /// The state at `version`, or nil when it is outside the window.
    func state(at version: UInt64) throws(JSONPatchError) -> JSONValue? {
        guard version >= baseVersion, version <= latestVersion else { return nil }
        var state = baseState
        for event in events[..<Int(version - baseVersion)] {
            try event.ops.applyInPlace(to: &state)
        }
        return state
    }

    /// Moves the base forward past the first `count` events, whose result is `state`.
    mutating func dropFirst(_ count: Int, newBaseState state: JSONValue) {
        guard count > 0, count <= events.count else { return }
        baseVersion = events[count - 1].version
        baseSchema = events[count - 1].schema
        baseState = state
        events.removeFirst(count)
    }
}
