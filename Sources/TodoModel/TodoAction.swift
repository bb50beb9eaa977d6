import SyncEngine

/// The actions of the original protocol:
///
///     {"type":"Add","row":{"name":..,"completed":..}}
///     {"type":"ChangeName","name":..}
///     {"type":"Update","index":n,"row":{..}}
///     {"type":"Remove","index":n}
///     {"type":"RemoveCompleted"}
public enum TodoAction: Decodable, Sendable, Hashable {
    /// Appends a row at the highest existing index + 1 (the first row gets 1).
    case add(TodoRow)
    case changeName(String)
    /// Replaces the row at `index`, or inserts it if the index is new.
    case update(index: Int, row: TodoRow)
    /// Removes the row at `index`; nothing happens if there is none.
    case remove(index: Int)
    case removeCompleted

    private enum CodingKeys: String, CodingKey {
        case type, row, name, index
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "Add":
            self = .add(try container.decode(TodoRow.self, forKey: .row))
        case "ChangeName":
            self = .changeName(try container.decode(String.self, forKey: .name))
        case "Update":
            self = .update(index: try Self.index(in: container), row: try container.decode(TodoRow.self, forKey: .row))
        case "Remove":
            self = .remove(index: try Self.index(in: container))
        case "RemoveCompleted":
            self = .removeCompleted
        default:
            throw ActionRejected(
                .unknownType,
                "unknown action type \"\(type)\"; expected Add, ChangeName, Update, Remove or RemoveCompleted")
        }
    }

    /// A row index: a number that is not a non-negative integer is `invalid_index`; a missing
    /// or non-number `index` is `invalid_action`, like any other missing or mistyped field.
    private static func index(in container: KeyedDecodingContainer<CodingKeys>) throws -> Int {
        let number = try container.decode(Double.self, forKey: .index)
        if let index = try? container.decode(Int.self, forKey: .index), index >= 0 {
            return index
        }
        throw ActionRejected(.invalidIndex, "index: expected a non-negative integer, found \(number)")
    }
}
