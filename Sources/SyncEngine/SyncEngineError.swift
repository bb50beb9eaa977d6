/// Why a request of the HTTP layer or the CLI (state, history, revert, replay) failed.
public struct SyncEngineError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// No document of that name exists (HTTP 404).
        case documentNotFound
        /// The version is in the future or older than the retained history (HTTP 400/410).
        case versionNotAvailable
        /// The change could not be written to disk (HTTP 503); nothing changed.
        case storageUnavailable
        /// The files of the document are damaged.
        case corruptData
        /// As many documents are in memory as the engine may hold (HTTP 503); try again later.
        case tooManyDocuments
        /// The JSON at that version is not a valid state of the model (it changed since), or could not be encoded.
        case invalidState
        /// The document was stored as another model than the one its name now has (a declared
        /// type's pattern matches it): it is refused, never reinterpreted.
        case modelMismatch
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
