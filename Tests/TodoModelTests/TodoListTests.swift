import JSONPatch
import JSONValueCoding
import SyncEngine
import Testing

@testable import TodoModel

@Suite struct TodoListTests {
    private func action(_ json: JSONValue) throws -> TodoAction {
        try JSONValueDecoder().decode(TodoAction.self, from: json)
    }

    private func rejection(_ json: JSONValue) -> ActionRejected? {
        do {
            _ = try action(json)
            return nil
        } catch {
            return error as? ActionRejected
        }
    }

    @Test func theTitleIsTheListsNameTrimmedOrNil() {
        #expect(TodoList.title(of: ["name": " Line 3 ", "todos": [:]]) == "Line 3")
        #expect(TodoList.title(of: ["name": " \n ", "todos": [:]]) == nil)
        #expect(TodoList.title(of: ["todos": [:]]) == nil)
        #expect(TodoList.title(of: ["name": 3]) == nil)
    }

    @Test func decodesEveryActionOfTheOriginalProtocol() throws {
        #expect(
            try action(["type": "Add", "row": ["name": "a", "completed": false]])
                == .add(TodoRow(name: "a", completed: false)))
        #expect(try action(["type": "ChangeName", "name": "n"]) == .changeName("n"))
        #expect(
            try action(["type": "Update", "index": 3, "row": ["name": "b", "completed": true, "extra": 1]])
                == .update(index: 3, row: TodoRow(name: "b", completed: true)))
        #expect(try action(["type": "Remove", "index": 2.0]) == .remove(index: 2))
        #expect(try action(["type": "RemoveCompleted", "id": "x"]) == .removeCompleted)
    }

    @Test func unknownTypeAndBadIndexesPickTheirCodes() {
        #expect(rejection(["type": "Fly"])?.code == .unknownType)
        #expect(rejection(["type": "Remove", "index": -1])?.code == .invalidIndex)
        #expect(rejection(["type": "Remove", "index": 0.5])?.code == .invalidIndex)
        #expect(rejection(["type": "Remove", "index": 1e300])?.code == .invalidIndex)
    }

    @Test func missingRowMembersAreCodingErrorsNamingTheField() {
        #expect(throws: JSONValueCodingError.self) { try action(["type": "Add", "row": ["name": "a"]]) }
        let error = #expect(throws: JSONValueCodingError.self) {
            try action(["type": "Update", "index": 1, "row": ["completed": true]])
        }
        #expect(error?.path == "row.name")
    }

    @Test func addUsesTheHighestIndexPlusOne() throws {
        var state = TodoList.initialState
        try TodoList.reduce(&state, .add(TodoRow(name: "first", completed: false)))
        #expect(state.todos.keys.sorted() == [1])
        try TodoList.reduce(&state, .update(index: 10, row: TodoRow(name: "ten", completed: false)))
        try TodoList.reduce(&state, .add(TodoRow(name: "next", completed: false)))
        #expect(state.todos.keys.sorted() == [1, 10, 11])
        try TodoList.reduce(&state, .remove(index: 11))
        try TodoList.reduce(&state, .remove(index: 10))
        try TodoList.reduce(&state, .add(TodoRow(name: "again", completed: false)))
        #expect(state.todos.keys.sorted() == [1, 2])
    }

    @Test func indexesAreUnsigned32BitNumbers() throws {
        #expect(try action(["type": "Remove", "index": 4_294_967_295]) == .remove(index: 4_294_967_295))
        #expect(try action(["type": "Update", "index": 0, "row": ["name": "z", "completed": false]])
            == .update(index: 0, row: TodoRow(name: "z", completed: false)))
        for index: JSONValue in [4_294_967_296, 9_223_372_036_854_775_807, -1, 4.5e9] {
            #expect(rejection(["type": "Remove", "index": index])?.code == .invalidIndex, "index \(index)")
            #expect(
                rejection(["type": "Update", "index": index, "row": ["name": "x", "completed": false]])?.code
                    == .invalidIndex, "index \(index)")
        }
    }

    @Test func addStillFindsAnIndexWhenTheHighestIsTaken() throws {
        var state = TodoList.initialState
        try TodoList.reduce(&state, .add(TodoRow(name: "first", completed: false)))
        try TodoList.reduce(&state, .update(index: .max, row: TodoRow(name: "last", completed: false)))
        try TodoList.reduce(&state, .add(TodoRow(name: "a", completed: false)))
        try TodoList.reduce(&state, .add(TodoRow(name: "b", completed: false)))
        #expect(state.todos.keys.sorted() == [1, 2, 3, Int(UInt32.max)])
        #expect(state.todos[2]?.name == "a" && state.todos[3]?.name == "b")
        // The derived JSON agrees with the full build when the new row is not the last key.
        let before = TodoList.jsonValue(of: state)
        let added = TodoAction.add(TodoRow(name: "c", completed: true))
        try TodoList.reduce(&state, added)
        #expect(TodoList.jsonValue(of: state, updating: before, after: added) == TodoList.jsonValue(of: state))
    }

    @Test func rowsAboveThe32BitRangeFromOldLogsAreKeptAndAddGoesOn() throws {
        let old = Int(UInt32.max) + 10
        var state = try JSONValueDecoder().decode(
            TodoState.self,
            from: ["name": "", "todos": ["7": ["name": "a", "completed": false], "\(old)": ["name": "old", "completed": true]]])
        try TodoList.reduce(&state, .add(TodoRow(name: "new", completed: false)))
        #expect(state.todos.keys.sorted() == [7, 8, old])
        try TodoList.reduce(&state, .removeCompleted)
        #expect(state.todos.keys.sorted() == [7, 8])
    }

    @Test func actionsEncodeAsTheClientSendsThemWithoutExtraMembers() throws {
        let sent: [JSONValue] = [
            ["type": "Add", "row": ["name": "a", "completed": false, "junk": "x"], "id": 1],
            ["type": "ChangeName", "name": "n", "junk": ["deep": [1, 2, 3]]],
            ["type": "Update", "index": 3.0, "row": ["name": "b", "completed": true], "extra": true],
            ["type": "Remove", "index": 2, "more": "y"],
            ["type": "RemoveCompleted", "padding": "zzzz"],
        ]
        let expected: [JSONValue] = [
            ["type": "Add", "row": ["name": "a", "completed": false]],
            ["type": "ChangeName", "name": "n"],
            ["type": "Update", "index": 3, "row": ["name": "b", "completed": true]],
            ["type": "Remove", "index": 2],
            ["type": "RemoveCompleted"],
        ]
        for (message, json) in zip(sent, expected) {
            let decoded = try action(message)
            let encoded = try JSONValueEncoder().encode(decoded)
            #expect(encoded == json)
            #expect(try action(encoded) == decoded)
        }
    }

    @Test func updateReplacesOrInsertsAndRemoveCompletedKeepsOpenRows() throws {
        var state = TodoState(todos: [1: TodoRow(name: "a", completed: false), 2: TodoRow(name: "b", completed: true)])
        try TodoList.reduce(&state, .update(index: 1, row: TodoRow(name: "a2", completed: false)))
        try TodoList.reduce(&state, .update(index: 5, row: TodoRow(name: "e", completed: true)))
        try TodoList.reduce(&state, .changeName("list"))
        try TodoList.reduce(&state, .removeCompleted)
        #expect(state == TodoState(name: "list", todos: [1: TodoRow(name: "a2", completed: false)]))
    }

    @Test func stateEncodesAsTheOriginalJSON() throws {
        let state = TodoState(
            name: "n", todos: [12: TodoRow(name: "l", completed: true), 3: TodoRow(name: "c", completed: false)])
        let json = try JSONValueEncoder().encode(state)
        #expect(TodoList.jsonValue(of: state) == json)
        #expect(Array(TodoList.jsonValue(of: state)["todos"]?.objectValue?.keys ?? []) == ["3", "12"])
        #expect(
            json == [
                "name": "n",
                "todos": ["3": ["name": "c", "completed": false], "12": ["name": "l", "completed": true]],
            ])
        #expect(Array(json["todos"]?.objectValue?.keys ?? []) == ["3", "12"])
        #expect(try JSONValueDecoder().decode(TodoState.self, from: json) == state)
        #expect(throws: JSONValueCodingError.self) {
            try JSONValueDecoder().decode(
                TodoState.self, from: ["name": "n", "todos": ["x1": ["name": "a", "completed": true]]])
        }
    }
}
