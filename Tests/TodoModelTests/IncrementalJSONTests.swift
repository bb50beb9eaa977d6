import JSONPatch
import SyncEngine
import TestSupport
import Testing

@testable import TodoModel

/// `TodoList.jsonValue(of:updating:after:)`, which the engine calls after every action, must give
/// exactly the JSON of a full build, and share the untouched rows with the previous JSON.
@Suite struct IncrementalJSONTests {
    /// Random actions over a small index range, so that updates hit existing rows, new rows above
    /// and below the highest index, the highest index a client may name, and removes of missing rows.
    /// 300 random actions from the initial state, with the state each accepted one led to (the
    /// refused ones left out), numbered by step.
    private func acceptedRandomActions(seed: UInt64) -> [(step: Int, action: TodoAction, next: TodoState)] {
        var random = SeededGenerator(seed: seed)
        var state = TodoList.initialState
        var accepted: [(step: Int, action: TodoAction, next: TodoState)] = []
        for step in 0..<300 {
            let action = randomAction(&random)
            var next = state
            guard (try? TodoList.reduce(&next, action)) != nil else { continue }
            accepted.append((step, action, next))
            state = next
        }
        return accepted
    }

    private func randomAction(_ random: inout SeededGenerator) -> TodoAction {
        let row = TodoRow(name: ["a", "b", "c"][Int(random.next() % 3)], completed: random.next() % 2 == 0)
        let index = random.next() % 15 == 14 ? TodoIndex.max : TodoIndex(random.next() % 14)
        switch random.next() % 10 {
        case 0, 1, 2: return .add(row)
        case 3, 4, 5: return .update(index: index, row: row)
        case 6, 7: return .remove(index: index)
        case 8: return .changeName(["list", "other", ""][Int(random.next() % 3)])
        default: return .removeCompleted
        }
    }

    @Test(arguments: 0..<20 as Range<UInt64>)
    func equalsTheFullBuildInMemberOrderAndItsDiffAppliesToThePrevious(seed: UInt64) throws {
        // Chained like the engine: each step starts from the JSON the previous step made.
        var json = TodoList.jsonValue(of: TodoList.initialState)
        for (step, action, next) in acceptedRandomActions(seed: seed) {
            let updated = TodoList.jsonValue(of: next, updating: json, after: action)
            let full = TodoList.jsonValue(of: next)
            #expect(orderedText(updated) == orderedText(full), "seed \(seed) step \(step): \(action)")
            let patch = try JSONPatch.diff(from: json, to: updated)
            #expect(try patch.apply(to: json) == full, "seed \(seed) step \(step): \(action)")
            json = updated
        }
    }

    /// `TodoList.memberChange(of:in:after:)`, which the engine prefers: setting the member it
    /// names in the previous JSON gives the full build, member order included, and diffing that
    /// member alone gives the patch a diff of the whole documents gives.
    @Test(arguments: 0..<20 as Range<UInt64>)
    func aMemberChangeSetInThePreviousJSONEqualsTheFullBuild(seed: UInt64) throws {
        var json = TodoList.jsonValue(of: TodoList.initialState)
        var changes = 0
        for (step, action, next) in acceptedRandomActions(seed: seed) {
            let full = TodoList.jsonValue(of: next)
            if let change = TodoList.memberChange(of: next, in: json, after: action) {
                changes += 1
                var root = try #require(json.objectValue)
                if change.object.isEmpty {
                    root[change.key] = change.value
                } else {
                    #expect(change.object == ["todos"])
                    var rows = try #require(root["todos"]?.objectValue)
                    rows[change.key] = change.value
                    root["todos"] = .object(rows)
                }
                let changed = JSONValue.object(root)
                #expect(orderedText(changed) == orderedText(full), "seed \(seed) step \(step): \(action)")
                let old = change.object.isEmpty ? json[change.key] : json["todos"]?[change.key]
                #expect(
                    try JSONPatch.diff(ofMember: old, to: change.value, at: change.pointer)
                        == JSONPatch.diff(from: json, to: changed), "seed \(seed) step \(step): \(action)")
                json = changed
            } else {
                #expect(
                    action == .removeCompleted || { if case .add = action { true } else { false } }()
                        || { if case .update = action { true } else { false } }(),
                    "seed \(seed) step \(step): \(action) changes one member")
                json = full
            }
        }
        #expect(changes > 100)
    }

    @Test func aNewRowBelowTheHighestIndexIsNoMemberChange() throws {
        var state = TodoState(name: "n", todos: [1: TodoRow(name: "a", completed: false), 5: TodoRow(name: "b", completed: true)])
        let previous = TodoList.jsonValue(of: state)
        let below = TodoAction.update(index: 3, row: TodoRow(name: "c", completed: false))
        try TodoList.reduce(&state, below)
        #expect(TodoList.memberChange(of: state, in: previous, after: below) == nil)
        #expect(TodoList.memberChange(of: state, in: .null, after: .changeName("x")) == nil)
        let above = TodoAction.update(index: 9, row: TodoRow(name: "d", completed: false))
        var after = TodoState(name: "n", todos: [1: TodoRow(name: "a", completed: false), 5: TodoRow(name: "b", completed: true)])
        try TodoList.reduce(&after, above)
        #expect(
            TodoList.memberChange(of: after, in: previous, after: above)
                == MemberChange(object: ["todos"], key: "9", value: ["name": "d", "completed": false]))
    }

    @Test func anUpdateSharesEveryOtherRowWithThePreviousJSON() throws {
        var state = TodoState(name: "big")
        for index in 1...1000 { state.todos[index] = TodoRow(name: "row \(index)", completed: false) }
        let previous = TodoList.jsonValue(of: state)
        let action = TodoAction.update(index: 500, row: TodoRow(name: "changed", completed: true))
        try TodoList.reduce(&state, action)
        let updated = TodoList.jsonValue(of: state, updating: previous, after: action)

        let oldRows = try #require(previous["todos"]?.objectValue)
        let newRows = try #require(updated["todos"]?.objectValue)
        let shared = newRows.filter { key, value in
            guard case .object(let row) = value, case .object(let old)? = oldRows[key] else { return false }
            return row.isIdentical(to: old)
        }
        #expect(shared.map(\.key) == Array(oldRows.keys).filter { $0 != "500" })
        let expected = PatchOperation.replace(
            path: JSONPointer(tokens: ["todos", "500"]), value: ["name": "changed", "completed": true])
        #expect(try JSONPatch.diff(from: previous, to: updated) == JSONPatch([expected]))
    }

    @Test func previousJSONOfAnotherShapeGivesTheFullBuild() {
        let state = TodoState(name: "n", todos: [1: TodoRow(name: "a", completed: false)])
        let action = TodoAction.update(index: 1, row: TodoRow(name: "a", completed: false))
        for previous: JSONValue in [.null, ["name": "n"], ["name": "n", "todos": ["1": 1, "2": 2, "3": 3]]] {
            let updated = TodoList.jsonValue(of: state, updating: previous, after: action)
            #expect(orderedText(updated) == orderedText(TodoList.jsonValue(of: state)))
        }
    }
}

/// The value as text with object members in their stored order, so that comparing two texts
/// also compares member order (`JSONValue`'s `==` ignores it).
private func orderedText(_ value: JSONValue) -> String {
    switch value {
    case .null: "null"
    case .bool(let bool): "\(bool)"
    case .integer(let integer): "\(integer)"
    case .real(let real): "\(real)r"
    case .string(let string): "\"\(string)\""
    case .array(let elements): "[" + elements.map(orderedText).joined(separator: ",") + "]"
    case .object(let object): "{" + object.map { "\"\($0.key)\":" + orderedText($0.value) }.joined(separator: ",") + "}"
    }
}

