import JSONPatch
import SyncEngine

/// The shared Todo list as a document model: `SyncEngine<TodoList>`.
public enum TodoList: DocumentModel {
    public static var initialState: TodoState { TodoState() }

    /// The original client reads the state from `{"type":"Full","todo":{...}}`.
    public static var stateKey: String { "todo" }

    /// The built-in model: documents no declared type matches.
    public static var modelName: String { "todo" }

    /// `{"name":..,"todos":{"<index>":{"name":..,"completed":..}}}` as the original design had it.
    public static var schemaVersion: Int { 1 }

    /// Programs holding a JSON Patch may send it as is; the engine checks it against `TodoState`.
    public static var acceptsRawPatches: Bool { true }

    /// The list's name, when it has one (more than white space).
    public static func title(of state: JSONValue) -> String? {
        title(at: JSONPointer(tokens: ["name"]), in: state)
    }

    /// Built by hand (as `TodoState.jsonValue`): several times faster than going through `Encoder`.
    public static func jsonValue(of state: TodoState) -> JSONValue {
        state.jsonValue
    }

    /// Edits a copy of `previous` where the action changed it (the list name, or one row), so
    /// that the engine's diff skips the other rows. Builds the JSON in full for `RemoveCompleted`,
    /// and where an edit would not keep the rows in index order (a new row below the highest index).
    public static func jsonValue(of state: TodoState, updating previous: JSONValue, after action: TodoAction)
        -> JSONValue
    {
        guard case .object(var root) = previous else { return state.jsonValue }
        switch action {
        case .changeName:
            root["name"] = .string(state.name)
            return .object(root)
        case .add:
            // The new row is the one after the highest index, which `previous` lists last.
            // Otherwise (the highest index was taken) the row went to a free index lower down.
            let highest = root["todos"]?.objectValue?.keys.last.flatMap { Int($0) } ?? 0
            guard highest < Int(TodoIndex.max), let row = state.todos[highest + 1] else { return state.jsonValue }
            return updatingRow(highest + 1, to: row, in: root, of: state)
        case .update(let index, _), .remove(let index):
            return updatingRow(Int(index), to: state.todos[Int(index)], in: root, of: state)
        case .removeCompleted:
            return state.jsonValue
        }
    }

    /// The one member an action other than `RemoveCompleted` changes: the list's name or one
    /// row. Nil where setting it in `previous` would not give the list's JSON (a new row below
    /// the highest index would go last; `previous` not the list's JSON): then it is built.
    public static func memberChange(of state: TodoState, in previous: JSONValue, after action: TodoAction)
        -> MemberChange?
    {
        guard case .object(let root) = previous, case .object(let rows)? = root["todos"] else { return nil }
        let index: Int
        switch action {
        case .changeName:
            guard root["name"] != nil else { return nil }
            return MemberChange(object: [], key: "name", value: .string(state.name))
        case .add:
            // As in `jsonValue(of:updating:after:)`: the new row is the one after the highest index.
            let highest = rows.keys.last.flatMap { Int($0) } ?? 0
            guard highest < Int(TodoIndex.max) else { return nil }
            index = highest + 1
        case .update(let updated, _), .remove(let updated):
            index = Int(updated)
        case .removeCompleted:
            return nil
        }
        let key = String(index)
        let row = state.todos[index]
        let isStored = rows[key] != nil
        if row != nil, !isStored, let last = rows.keys.last, (Int(last) ?? .max) > index { return nil }
        // Every other row is as it was: the counts agree unless `previous` was not the list's JSON.
        let count = rows.count + (row != nil && !isStored ? 1 : 0) - (row == nil && isStored ? 1 : 0)
        guard count == state.todos.count else { return nil }
        return MemberChange(object: ["todos"], key: key, value: row?.jsonValue)
    }

    /// `root` with the row at `index` set to `row`, or removed when `row` is nil.
    private static func updatingRow(_ index: Int, to row: TodoRow?, in root: JSONObject, of state: TodoState)
        -> JSONValue
    {
        var root = root
        let key = String(index)
        let edited = root.modifyValue(forKey: "todos") { todos -> Bool in
            guard case .object(var rows)? = todos else { return false }
            // Hold the rows only in `rows` while editing, so that they are not copied twice.
            todos = nil
            defer { todos = .object(rows) }
            if let row {
                // A new key goes last: only right when it is above every other index.
                if rows[key] == nil, let last = rows.keys.last, (Int(last) ?? .max) > index { return false }
                rows[key] = row.jsonValue
            } else {
                rows.removeValue(forKey: key)
            }
            // Every other row is as it was: the counts agree unless `previous` was not the list's JSON.
            return rows.count == state.todos.count
        }
        return edited ? .object(root) : state.jsonValue
    }

    /// A raw patch may not write a row at an index an action could not reach (above
    /// `TodoIndex.max`), as `Update` refuses it; rows stored there earlier stay as they are.
    public static func checkPatched(_ state: TodoState, previous: TodoState) throws(ActionRejected) {
        for (index, row) in state.todos where index > Int(TodoIndex.max) && previous.todos[index] != row {
            throw ActionRejected(
                .invalidPatch, "/todos/\(index): a row index above \(TodoIndex.max), the largest an action can reach")
        }
    }

    public static func reduce(_ state: inout TodoState, _ action: TodoAction) throws(ActionRejected) {
        switch action {
        case .add(let row):
            guard let index = indexForNewRow(in: state.todos) else {
                throw ActionRejected(.invalidIndex, "every row index from 1 to \(TodoIndex.max) is taken")
            }
            state.todos[index] = row
        case .changeName(let name):
            state.name = name
        case .update(let index, let row):
            state.todos[Int(index)] = row
        case .remove(let index):
            state.todos[Int(index)] = nil
        case .removeCompleted:
            state.todos = state.todos.filter { !$0.value.completed }
        }
    }

    /// The highest index a client may name plus one; when that one would pass `TodoIndex.max`
    /// (someone updated the highest index), the lowest free index from 1, so that one editor
    /// cannot stop everybody from adding. Rows above `TodoIndex.max`, kept from logs written
    /// before indexes were 32-bit, are left alone.
    static func indexForNewRow(in todos: [Int: TodoRow]) -> Int? {
        let limit = Int(TodoIndex.max)
        let highest = todos.keys.lazy.filter { $0 <= limit }.max() ?? 0
        if highest < limit { return highest + 1 }
        // n rows leave a free index among the first n + 1.
        return (1...limit).lazy.first { todos[$0] == nil }
    }
}
