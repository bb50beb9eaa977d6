import JSONPatch

/// A document's state as JSON at a version.
public struct DocumentState: Sendable, Hashable {
    public let version: UInt64
    public let state: JSONValue

    public init(version: UInt64, state: JSONValue) {
        self.version = version
        self.state = state
    }
}

/// One entry of the document list.
public struct DocumentSummary: Sendable, Hashable {
    public let name: DocumentName
    public let version: UInt64

    public init(name: DocumentName, version: UInt64) {
        self.name = name
        self.version = version
    }
}
