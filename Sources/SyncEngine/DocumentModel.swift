import JSONPatch
import JSONValueCoding

/// A kind of document the engine can keep in sync: a Codable state and a reducer for its actions.
///
/// The engine encodes the state after every action and diffs the JSON, so the encoding must be
/// deterministic (same state, same JSON, same member order). A model whose documents grow large
/// should also implement `jsonValue(of:updating:after:)`.
public protocol DocumentModel: Sendable {
    associatedtype State: Codable & Sendable
    /// Decoded from the client's message object (which also holds `type` and maybe `id`).
    /// `init(from:)` may throw `ActionRejected` to pick the error code, e.g. `unknownType`.
    ///
    /// The log and the history keep the action encoded again, never the client's text: members
    /// the model does not read are dropped, so a client cannot make the log carry them. Encoding
    /// must give what decoding reads back (the JSON a client would send, without `id`).
    /// The engine handles the types `Hello` and `Focus` (and `Patch` when `acceptsRawPatches`)
    /// itself: an action cannot use those names.
    associatedtype Action: Codable & Sendable

    /// The state of a document that has no history yet.
    static var initialState: State { get }

    /// The member of the `Full` message that holds the state: `{"type":"Full","<stateKey>":{...}}`.
    static var stateKey: String { get }

    /// Names the model in log lines, and in a refusal when a document stored as one model is
    /// opened as another (a declared type's pattern now matches it). The default is the type's name.
    static var modelName: String { get }

    /// The version of the state's shape, sent in every `Full` as `"schema"` and stored with every
    /// event and snapshot. Starts at 1; raise it by one with each of `migrations`.
    static var schemaVersion: Int { get }

    /// Applies one action. Throwing must leave the state as it was: the engine reduces its
    /// state in place, without a copy to fall back on.
    static func reduce(_ state: inout State, _ action: Action) throws(ActionRejected)

    /// The state as JSON, after every action. The default uses `JSONValueEncoder`; a model may
    /// build the JSON by hand because this runs once per action, but it must give the same JSON.
    static func jsonValue(of state: State) throws -> JSONValue

    /// The JSON of `state`, the state `action` led to, made from `previous`: the JSON this model
    /// built for the state before the action (the engine passes nothing else). It must equal
    /// `jsonValue(of: state)`, member order included; debug builds check that. The default calls
    /// `jsonValue(of:)`.
    ///
    /// Why implement it: the engine diffs `previous` against the result after every action. Built
    /// anew, the result shares nothing with `previous` and the diff walks the whole document;
    /// made by editing a copy of `previous` through `JSONObject`'s mutating API (subscript,
    /// `removeValue`, `modifyValue(forKey:)`), the diff visits only the members written. So
    /// large documents cost per action about what the action changes.
    static func jsonValue(of state: State, updating previous: JSONValue, after action: Action) throws -> JSONValue

    /// The one member `action` changed in `previous` (the JSON this model built for the state
    /// before the action; the engine passes nothing else), or nil when it changed more than one
    /// or the JSON must be built another way; the engine then calls `jsonValue(of:updating:after:)`.
    /// Setting the member in `previous` (a new key goes after the others; a removed key leaves
    /// the others in their order) must give `jsonValue(of: state)`, member order included; debug
    /// builds check that. The default is nil.
    ///
    /// Why implement it: the engine then edits its JSON in place and diffs only that member, so
    /// an action copies nothing of the document, where `jsonValue(of:updating:after:)` copies
    /// the object holding the member (all 10,000 rows of a 10,000-row list) while the previous
    /// state is kept to roll back to.
    static func memberChange(of state: State, in previous: JSONValue, after action: Action) -> MemberChange?

    /// Whether clients may also write raw JSON Patches (`{"type":"Patch","ops":[...]}`). Each
    /// result must decode as `State` and encode back to the same JSON. The default is false.
    static var acceptsRawPatches: Bool { get }

    /// Checks a state a raw patch led to, beyond decoding, against `previous`: the bounds the
    /// actions keep that decoding does not (stored data written before a bound existed must still
    /// load, so decoding cannot refuse it). Throws `invalid_patch`, naming the JSON Pointer. The
    /// default accepts every state that decodes.
    static func checkPatched(_ state: State, previous: State) throws(ActionRejected)

    /// How stored documents reach `schemaVersion`: one step per older schema, in order, the
    /// first from schema 1. See `SchemaMigration`. The default is none.
    static var migrations: [SchemaMigration] { get }

    /// What people call a document in this state (the document list shows it beside the
    /// name), or nil when it has none. Runs after every committed batch: read a member or two,
    /// never walk the state. The default is nil.
    static func title(of state: JSONValue) -> String?
}

extension DocumentModel {
    public static var modelName: String { "\(Self.self)" }

    public static var acceptsRawPatches: Bool { false }

    public static var migrations: [SchemaMigration] { [] }

    public static func title(of state: JSONValue) -> String? { nil }

    /// The string at `pointer` in `state` as a title: without surrounding white space, nil when
    /// there is none or nothing is left.
    public static func title(at pointer: JSONPointer, in state: JSONValue) -> String? {
        guard let text = (try? state.value(at: pointer))?.stringValue else { return nil }
        let trimmed = text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()
        return trimmed.isEmpty ? nil : String(trimmed)
    }

    public static func checkPatched(_ state: State, previous: State) throws(ActionRejected) {}

    public static func jsonValue(of state: State) throws -> JSONValue {
        try JSONValueEncoder().encode(state)
    }

    public static func jsonValue(of state: State, updating previous: JSONValue, after action: Action) throws
        -> JSONValue
    {
        try jsonValue(of: state)
    }

    public static func memberChange(of state: State, in previous: JSONValue, after action: Action) -> MemberChange? {
        nil
    }
}

/// An action refused by the model or by the engine, with the code and message the client receives.
public struct ActionRejected: Error, CustomStringConvertible, Hashable {
    public let code: SyncErrorCode
    public let message: String
    /// The document's current version, sent with the Error (for `conflict`).
    public let version: UInt64?

    public init(_ code: SyncErrorCode, _ message: String, version: UInt64? = nil) {
        self.code = code
        self.message = message
        self.version = version
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
