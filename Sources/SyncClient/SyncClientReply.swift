import JSONPatch

extension SyncClient {
    /// The server's answer to one action.
    public struct Reply: Hashable, Sendable {
        public enum Outcome: Hashable, Sendable {
            /// Applied (or changed nothing); the document is at `version` (nil from a server
            /// that sends no versions).
            case ack(version: UInt64?)
            /// Rejected with a stable machine-readable `code`; the state did not change.
            case error(code: String, message: String)
        }

        public let outcome: Outcome
        /// The reply exactly as received.
        public let message: JSONValue

        public var isAck: Bool {
            if case .ack = outcome { return true }
            return false
        }

        init(outcome: Outcome, message: JSONValue) {
            self.outcome = outcome
            self.message = message
        }
    }
}
