import DequeModule
import JSONCodec

/// The newest events of a document kept in memory, with their Patch messages as broadcast, so
/// that resume and history rarely read the store and resuming sessions share the Patches' bytes.
/// Bounded in count and in bytes (each event's encoded size plus its Patch): one client sending
/// large actions must not grow memory without limit. Evicting drops events from memory only;
/// the store keeps them, and readers fall back to it.
struct RecentEvents: Sendable {
    private struct Entry {
        let event: DocumentEvent
        /// Encoded on first need when the event was read from the store.
        var patch: OutboundMessage?
        var bytes: Int
    }

    let maximumCount: Int
    let maximumBytes: Int
    private var entries: Deque<Entry> = []
    private(set) var bytes = 0
    /// The version after the newest event (kept when every event has been evicted).
    private(set) var latestVersion: UInt64

    init(latestVersion: UInt64, maximumCount: Int, maximumBytes: Int) {
        self.latestVersion = latestVersion
        self.maximumCount = maximumCount
        self.maximumBytes = maximumBytes
    }

    var count: Int { entries.count }

    /// The version before the oldest event kept (`latestVersion` when none is).
    var oldestVersion: UInt64 { entries.first.map { $0.event.version - 1 } ?? latestVersion }

    /// Adds the event after `latestVersion` (`size`: its encoded size) and the Patch broadcast
    /// for it, then evicts the oldest entries over either bound.
    mutating func append(_ event: DocumentEvent, size: Int, patch: OutboundMessage?) {
        let entry = Entry(event: event, patch: patch, bytes: size + (patch?.count ?? 0))
        entries.append(entry)
        bytes += entry.bytes
        latestVersion = event.version
        while let oldest = entries.first, entries.count > maximumCount || bytes > maximumBytes {
            bytes -= oldest.bytes
            entries.removeFirst()
        }
    }

    /// Adds events read from the store, ending at `latestVersion`, keeping the newest within the bounds.
    mutating func seed(with loaded: [DocumentEvent]) {
        guard loaded.last?.version == latestVersion else { return }
        let start = loaded.startIndex + max(0, loaded.count - maximumCount)
        for event in loaded[start...] {
            append(event, size: (try? event.encodedLine().count) ?? 0, patch: nil)
        }
    }

    /// Forgets every event: the document jumped to `version` by other means than events.
    mutating func reset(to version: UInt64) {
        entries.removeAll()
        bytes = 0
        latestVersion = version
    }

    /// The events after `version`, or nil when memory does not reach back that far (or
    /// `version` is in the future).
    func events(after version: UInt64) -> [DocumentEvent]? {
        guard let start = index(after: version) else { return nil }
        return entries[start...].map(\.event)
    }

    /// The Patch messages of the events after `version`, encoding (once) those not kept yet;
    /// nil when memory does not reach back that far or a Patch cannot be encoded.
    mutating func patches(after version: UInt64) -> [OutboundMessage]? {
        guard let start = index(after: version) else { return nil }
        var messages: [OutboundMessage] = []
        for index in start..<entries.endIndex {
            if entries[index].patch == nil {
                let event = entries[index].event
                guard let patch = try? ServerMessage.patch(event.ops, version: event.version) else { return nil }
                entries[index].patch = patch
                entries[index].bytes += patch.count
                bytes += patch.count
            }
            messages.append(entries[index].patch!)
        }
        return messages
    }

    private func index(after version: UInt64) -> Int? {
        guard version <= latestVersion else { return nil }
        guard version >= oldestVersion else { return nil }
        return Int(version - oldestVersion)
    }
}
