import JSONPatch
import SyncEngine

/// The actions of the original protocol:
///
///     {"type":"Add","row":{"name":..,"completed":..}}
///     {"type":"ChangeName","name":..}
///     {"type":"Update","index":n,"row":{..}}
///     {"type":"Remove","index":n}
///     {"type":"RemoveCompleted"}
///
/// Encoding gives back exactly these members (no `id`, nothing a client added): the log records
/// the action as the model understood it.
public enum TodoAction: Codable, Sendable, Hashable {
    /// Appends a row at the highest existing index + 1 (the first row gets 1); when that index
    /// would pass `TodoIndex.max`, takes the lowest free index instead.
    case add(TodoRow)
    case changeName(String)
    /// Replaces the row at `index`, or inserts it if the index is new.
    case update(index: TodoIndex, row: TodoRow)
    /// Removes the row at `index`; nothing happens if there is none.
    case remove(index: TodoIndex)
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

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .add(let row):
            try container.encode("Add", forKey: .type)
            try container.encode(row, forKey: .row)
        case .changeName(let name):
            try container.encode("ChangeName", forKey: .type)
            try container.encode(name, forKey: .name)
        case .update(let index, let row):
            try container.encode("Update", forKey: .type)
            try container.encode(index, forKey: .index)
            try container.encode(row, forKey: .row)
        case .remove(let index):
            try container.encode("Remove", forKey: .type)
            try container.encode(index, forKey: .index)
        case .removeCompleted:
            try container.encode("RemoveCompleted", forKey: .type)
        }
    }

    /// A row index: a number that is not an integer in `0...TodoIndex.max` is `invalid_index`;
    /// a missing or non-number `index` is `invalid_action`, like any other missing or mistyped field.
    private static func index(in container: KeyedDecodingContainer<CodingKeys>) throws -> TodoIndex {
        let number = try container.decode(Double.self, forKey: .index)
        if let index = try? container.decode(TodoIndex.self, forKey: .index) {
            return index
        }
        throw ActionRejected(
            .invalidIndex, "index: expected an integer from 0 to \(TodoIndex.max), found \(numberText(number))")
    }
}

/// A row index as clients may send it: an unsigned 32-bit number, as in the original design.
public typealias TodoIndex = UInt32

