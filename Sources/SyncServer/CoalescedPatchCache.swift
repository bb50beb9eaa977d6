import SyncEngine
import SyncProtocol

/// The last coalesced Patch built, so that sessions that fell behind together share one copy
/// instead of each building the same bytes.
struct CoalescedPatchCache {
    private var first: OutboundMessage?
    private var last: OutboundMessage?
    private var count = 0
    private var merged: OutboundMessage?

    /// `patches` as one Patch. Holding the first and last message keeps their identities unique
    /// while they are the key; consecutive Patches of one document between them are the same.
    mutating func coalesce(_ patches: [OutboundMessage]) -> OutboundMessage {
        if patches.count == count, patches.first === first, patches.last === last, let merged {
            return merged
        }
        let message = ServerMessage.coalesce(patches)
        first = patches.first
        last = patches.last
        count = patches.count
        merged = message
        return message
    }
}
