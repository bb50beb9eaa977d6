/// Why a patch could not be parsed, applied or computed.
///
/// `operationIndex` names the failing operation (0-based) when one is at fault; the message
/// names the pointer or token and the reason.
public struct JSONPatchError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The patch or one of its operations is not well-formed RFC 6902.
        case malformedPatch
        /// A `path` or `from` member is not a valid JSON Pointer.
        case invalidPointer
        /// A pointer names a value that does not exist.
        case pathNotFound
        /// An array index token is not a valid index for that array.
        case invalidIndex
        /// A `test` operation found a different value.
        case testFailed
        /// A `move` whose `from` is a proper prefix of its `path`.
        case moveIntoDescendant
        /// Nesting deeper than `JSONLimits.maximumDepth`.
        case tooDeep
    }

    public var kind: Kind
    /// The index of the operation at fault, when one is.
    public var operationIndex: Int?
    /// Its `op`, when known (`add`, `remove`, ...).
    public var operationName: String?
    public var message: String

    public init(_ kind: Kind, operationIndex: Int? = nil, message: String) {
        self.kind = kind
        self.operationIndex = operationIndex
        self.message = message
    }

    public var description: String {
        switch (operationIndex, operationName) {
        case (let index?, let name?): "operation \(index) (\(name)): \(message)"
        case (let index?, nil): "operation \(index): \(message)"
        case (nil, _): message
        }
    }

    func at(operation index: Int, named name: String? = nil) -> JSONPatchError {
        var error = self
        error.operationIndex = index
        error.operationName = name
        return error
    }

    static func tooDeep(at pointer: JSONPointer) -> JSONPatchError {
        JSONPatchError(
            .tooDeep,
            message: "value at \"\(pointer)\" is nested deeper than \(JSONLimits.maximumDepth) levels")
    }
}
