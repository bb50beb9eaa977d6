import JSONPatch

/// The shared list: `{"name":"...","todos":{"1":{"name":..,"completed":..},...}}`.
///
/// `todos` is keyed by the row index as a decimal string and encoded in numeric index order,
/// so the same list always gives the same JSON.
public struct TodoState: Codable, Sendable, Hashable {
    public var name: String
    public var todos: [Int: TodoRow]

    public init(name: String = "", todos: [Int: TodoRow] = [:]) {
        self.name = name
        self.todos = todos
    }

    private enum CodingKeys: String, CodingKey {
        case name, todos
    }

    /// A row index as an object key.
    private struct IndexKey: CodingKey {
        let stringValue: String
        var intValue: Int? { Int(stringValue) }

        init(stringValue: String) { self.stringValue = stringValue }
        init(intValue: Int) { stringValue = String(intValue) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        let rows = try container.nestedContainer(keyedBy: IndexKey.self, forKey: .todos)
        var todos: [Int: TodoRow] = [:]
        for key in rows.allKeys {
            guard let index = key.intValue, index >= 0, String(index) == key.stringValue else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: rows, debugDescription: "row key \"\(key.stringValue)\" is not a row index")
            }
            todos[index] = try rows.decode(TodoRow.self, forKey: key)
        }
        self.todos = todos
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        var rows = container.nestedContainer(keyedBy: IndexKey.self, forKey: .todos)
        for (index, row) in todos.sorted(by: { $0.key < $1.key }) {
            try rows.encode(row, forKey: IndexKey(intValue: index))
        }
    }
}

extension TodoState {
    /// The same JSON as encoding through `Encodable`, built directly.
    public var jsonValue: JSONValue {
        var rows = JSONObject()
        for (index, row) in todos.sorted(by: { $0.key < $1.key }) {
            rows[String(index)] = row.jsonValue
        }
        return ["name": .string(name), "todos": .object(rows)]
    }
}

extension TodoRow {
    /// The same JSON as encoding through `Encodable`.
    var jsonValue: JSONValue {
        ["name": .string(name), "completed": .bool(completed)]
    }
}
