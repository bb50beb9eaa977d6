/// One entry of the list. Extra members a client sends in a row are ignored.
public struct TodoRow: Codable, Sendable, Hashable {
    public var name: String
    public var completed: Bool

    public init(name: String, completed: Bool) {
        self.name = name
        self.completed = completed
    }
}
