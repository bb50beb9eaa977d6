import JSONPatch
import JSONValueCoding

/// A kind of document the engine can keep in sync: a Codable state and a reducer for its actions.
///
/// The engine encodes the state after every action and diffs the JSON, so the encoding must be
/// deterministic (same state, same JSON, same member order).
public protocol DocumentModel: Sendable {
    associatedtype State: Codable & Sendable
    /// Decoded from the client's message object (which also holds `type` and maybe `id`).
    /// `init(from:)` may throw `ActionRejected` to pick the error code, e.g. `unknownType`.
    associatedtype Action: Decodable & Sendable

    /// The state of a document that has no history yet.
    static var initialState: State { get }

    /// The member of the `Full` message that holds the state: `{"type":"Full","<stateKey>":{...}}`.
    static var stateKey: String { get }

    /// Applies one action. Throwing leaves the state as it was.
    static func reduce(_ state: inout State, _ action: Action) throws(ActionRejected)

    /// The state as JSON, after every action. The default uses `JSONValueEncoder`; a model may
    /// build the JSON by hand because this runs once per action, but it must give the same JSON.
    static func jsonValue(of state: State) throws -> JSONValue
}

extension DocumentModel {
    public static func jsonValue(of state: State) throws -> JSONValue {
        try JSONValueEncoder().encode(state)
    }
}

/// An action refused by the model or by the engine, with the code and message the client receives.
public struct ActionRejected: Error, CustomStringConvertible, Hashable {
    public let code: SyncErrorCode
    public let message: String

    public init(_ code: SyncErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
