import JSONCodec
import JSONPatch
import SyncProtocol

/// The encoded Full of one version, per role, shared by every session that joins at that version.
///
/// Encoding a large state costs milliseconds (about 10 ms for a 10,000-row list); a join storm
/// would pay it once per session on the document's actor. Here the state is encoded once per
/// version: the first role's message is encoded, the other role's copies everything but the
/// role from it. A large state's text is also kept in pieces (`StateText`) across versions
/// whose changes were made in place, so that on a busy document the Full of each new version
/// encodes only the members changed since and copies the rest.
struct FullMessageCache {
    private var version: UInt64?
    private var messages: [SessionRole: OutboundMessage] = [:]
    /// The length of the part every role's message shares (see `ServerMessage.fullHead`).
    private var sharedCount = 0
    /// The state's text in pieces; at `textVersion` once the members in `changedSince` are encoded again.
    private var text: StateText?
    private var textVersion: UInt64?
    /// The members changed in place since the pieces were last brought up to date.
    private var changedSince: [MemberChange] = []

    /// Beyond this many changed members waiting, the pieces are dropped (and built again at the
    /// next join) rather than kept up to date: nobody joined for a long while.
    static var maximumChangesWaiting: Int { 4096 }

    /// The Full for `role` at `version`, whose state is `state` (about `size` bytes of text);
    /// encoded only on the first call for this version.
    mutating func message<Model: DocumentModel>(
        for role: SessionRole, at version: UInt64, state: JSONValue, size: Int, of kind: DocumentKind<Model>
    ) throws(JSONEncodingError) -> OutboundMessage {
        if self.version != version {
            self.version = version
            messages = [:]
        }
        if let message = messages[role] { return message }
        let tail = ServerMessage.fullTail(for: role)
        let message: OutboundMessage
        if let encoded = messages.values.first {
            message = OutboundMessage(prefix: sharedCount, of: encoded, followedBy: tail)
        } else {
            let model = kind.isDeclared ? kind.modelName : nil
            let head: [UInt8]
            if let stateText = try stateText(at: version, of: state, size: size) {
                head = try stateText.fullHead(
                    stateKey: kind.stateKey, version: version, schema: kind.schemaVersion, model: model)
            } else {
                head = try ServerMessage.fullHead(
                    stateKey: kind.stateKey, state: state, version: version, schema: kind.schemaVersion, model: model)
            }
            sharedCount = head.count
            message = OutboundMessage(head, tail)
        }
        messages[role] = message
        return message
    }

    /// The state moved on to `version` by `changes`, each a member set in place; nil when (also)
    /// changed another way, which the text in pieces cannot follow.
    mutating func stateChanged(to newVersion: UInt64, by changes: [MemberChange]?) {
        version = nil
        messages = [:]
        guard text != nil, let changes, changedSince.count + changes.count <= Self.maximumChangesWaiting else {
            dropText()
            return
        }
        changedSince += changes
        textVersion = newVersion
    }

    /// Lets everything go: the state changed in a way the cache cannot follow.
    mutating func removeAll() {
        self = FullMessageCache()
    }

    init() {}

    private mutating func dropText() {
        text = nil
        textVersion = nil
        changedSince = []
    }

    /// The state's text in pieces, brought up to `version`; nil for a small state.
    private mutating func stateText(at version: UInt64, of state: JSONValue, size: Int) throws(JSONEncodingError)
        -> StateText?
    {
        guard size >= StateText.minimumSize else {
            dropText()
            return nil
        }
        if var text, textVersion == version {
            // Taken out, so that the pieces are changed without a copy.
            self.text = nil
            var isCurrent = true
            for change in changedSince where isCurrent {
                isCurrent = try text.update(object: change.object, key: change.key, in: state)
            }
            if isCurrent {
                changedSince = []
                self.text = text
                textVersion = version
                return text
            }
        }
        dropText()
        text = try StateText(state)
        textVersion = version
        return text
    }
}
