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

    @Test func addRefusesWhenNoIndexIsLeft() {
        var state = TodoState(todos: [Int.max: TodoRow(name: "last", completed: false)])
        #expect(throws: ActionRejected.self) { try TodoList.reduce(&state, .add(TodoRow(name: "x", completed: false))) }
        #expect(state.todos.count == 1)
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
