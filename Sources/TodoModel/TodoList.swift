import JSONPatch
import SyncEngine

/// The shared Todo list as a document model: `SyncEngine<TodoList>`.
public enum TodoList: DocumentModel {
    public static var initialState: TodoState { TodoState() }

    /// The original client reads the state from `{"type":"Full","todo":{...}}`.
    public static var stateKey: String { "todo" }

    /// Built by hand (as `TodoState.jsonValue`): several times faster than going through `Encoder`.
    public static func jsonValue(of state: TodoState) -> JSONValue {
        state.jsonValue
    }

    public static func reduce(_ state: inout TodoState, _ action: TodoAction) throws(ActionRejected) {
        switch action {
        case .add(let row):
            let highest = state.todos.keys.max() ?? 0
            guard highest < Int.max else {
                throw ActionRejected(.invalidIndex, "no index is left after \(highest) for a new row")
            }
            state.todos[highest + 1] = row
        case .changeName(let name):
            state.name = name
        case .update(let index, let row):
            state.todos[index] = row
        case .remove(let index):
            state.todos[index] = nil
        case .removeCompleted:
            state.todos = state.todos.filter { !$0.value.completed }
        }
    }
}
