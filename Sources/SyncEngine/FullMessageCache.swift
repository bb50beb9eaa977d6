import JSONCodec
import JSONPatch
import SyncProtocol

/// The encoded Full of one version, per role, shared by every session that joins at that version.
///
/// Encoding a large state costs milliseconds (about 10 ms for a 10,000-row list); a join storm
/// would pay it once per session on the document's actor. Here the state is encoded once per
/// version: the first role's message is encoded, the other role's copies everything but the
/// role from it.
struct FullMessageCache {
    private var version: UInt64?
    private var messages: [SessionRole: OutboundMessage] = [:]
    /// The length of the part every role's message shares (see `ServerMessage.fullHead`).
    private var sharedCount = 0

    /// The Full for `role` at `version`, whose state is `state`; encoded only on the first call
    /// for this version.
    mutating func message<Model: DocumentModel>(
        for role: SessionRole, at version: UInt64, state: JSONValue, of kind: DocumentKind<Model>
    ) throws(JSONEncodingError) -> OutboundMessage {
        if self.version != version { self = FullMessageCache(version: version) }
        if let message = messages[role] { return message }
        let tail = ServerMessage.fullTail(for: role)
        let message: OutboundMessage
        if let encoded = messages.values.first {
            message = OutboundMessage(prefix: sharedCount, of: encoded, followedBy: tail)
        } else {
            let head = try ServerMessage.fullHead(
                stateKey: kind.stateKey, state: state, version: version, schema: kind.schemaVersion,
                model: kind.isDeclared ? kind.modelName : nil)
            sharedCount = head.count
            message = OutboundMessage(head, tail)
        }
        messages[role] = message
        return message
    }

    /// Lets the messages go once the version has moved on.
    mutating func removeAll() {
        self = FullMessageCache()
    }

    private init(version: UInt64) {
        self.version = version
    }

    init() {}
}
