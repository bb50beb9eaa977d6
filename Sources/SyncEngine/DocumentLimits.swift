/// Bounds on what clients can make a document hold. Each is checked before anything is
/// logged; a refused action changes nothing and gets the error code named here.
public struct DocumentLimits: Sendable, Hashable {
    /// Deepest nesting accepted in a client message; deeper gets `too_deep`. Default 32.
    public var maximumMessageDepth: Int
    /// Longest string (or object key) in a client message, in UTF-8 bytes; longer gets
    /// `string_too_long`. Default 65,536.
    public var maximumStringBytes: Int
    /// Largest state, as compact JSON text (counted without string escapes); an action that
    /// would make the state larger gets `document_too_large`. Default 8 MiB (a 100,000-row
    /// Todo list is about 6 MB).
    public var maximumDocumentBytes: Int
    /// Most members of one object or elements of one array in the state (the Todo list's rows);
    /// an action that would pass it gets `too_many_members`. Default 200,000.
    public var maximumMembers: Int

    public init(
        maximumMessageDepth: Int = 32,
        maximumStringBytes: Int = 65_536,
        maximumDocumentBytes: Int = 8 << 20,
        maximumMembers: Int = 200_000
    ) {
        self.maximumMessageDepth = max(1, maximumMessageDepth)
        self.maximumStringBytes = max(1, maximumStringBytes)
        self.maximumDocumentBytes = max(1, maximumDocumentBytes)
        self.maximumMembers = max(1, maximumMembers)
    }
}
