import JSONPatch
import Testing

@testable import SyncEngine

/// `DocumentHistory.replay`, the one replay of stored events (both stores and catch-up use it).
@Suite struct ReplayTests {
    private func event(_ version: UInt64, _ ops: JSONPatch = JSONPatch([])) -> DocumentEvent {
        DocumentEvent(version: version, time: 0, action: ["type": "Test"], ops: ops)
    }

    @Test func consecutiveEventsPassAndAGapARepeatOrAMissingTailAreRefused() throws {
        var state: JSONValue = [:]
        #expect(try DocumentHistory.replay([event(4), event(5)], onto: &state, after: 3, through: 5) == 5)
        #expect(try DocumentHistory.replay([], onto: &state, after: 3, through: 3) == 3)
        #expect(throws: ReplayError.self) {
            try DocumentHistory.replay([event(4), event(6)], onto: &state, after: 3, through: 6)
        }
        #expect(throws: ReplayError.self) {
            try DocumentHistory.replay([event(4), event(4)], onto: &state, after: 3, through: 4)
        }
        #expect(throws: ReplayError.self) {
            try DocumentHistory.replay([event(4)], onto: &state, after: 3, through: 5)
        }
    }

    @Test func opsAreAppliedInOrderAndAnOpThatDoesNotApplyNamesItsVersion() throws {
        var state: JSONValue = [:]
        let add = try JSONPatch(json: [["op": "add", "path": "/a", "value": 1]])
        let replace = try JSONPatch(json: [["op": "replace", "path": "/a", "value": 2]])
        try DocumentHistory.replay([event(1, add), event(2, replace)], onto: &state, after: 0)
        #expect(state == ["a": 2])
        let remove = try JSONPatch(json: [["op": "remove", "path": "/missing"]])
        do {
            try DocumentHistory.replay([event(3, remove)], onto: &state, after: 2)
            Issue.record("a remove of a missing member applied")
        } catch {
            guard case .doesNotApply(version: 3, _) = error.kind else {
                Issue.record("unexpected \(error)")
                return
            }
        }
    }

    @Test func historyStateAtAVersionReplaysFromItsBase() throws {
        var history = DocumentHistory(baseVersion: 2, baseSchema: 1, baseState: ["a": 0])
        let set = { (value: Int64) in try JSONPatch(json: [["op": "replace", "path": "/a", "value": .integer(value)]]) }
        try history.append([event(3, set(3)), event(4, set(4))])
        #expect(try history.state(at: 3) == ["a": 3])
        #expect(try history.state(at: 4) == ["a": 4])
        #expect(try history.state(at: 1) == nil)
        #expect(throws: ReplayError.self) { try history.append([event(6)]) }
    }
}
