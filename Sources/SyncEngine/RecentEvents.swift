import DequeModule
import JSONCodec
import SyncProtocol

/// The newest events of a document kept in memory, with their Patch messages as broadcast, so
/// that resume and history rarely read the store and resuming sessions share the Patches' bytes.
/// Each event is kept as its log line, one allocation, and decoded again when asked for: a decoded
/// event (action and ops as `JSONValue`s) takes several times the memory of its line, and only
/// history and a raw patch's rebase need one. Bounded in count and in bytes (each line plus its
/// Patch): one client sending large actions must not grow memory without limit. Evicting drops
/// events from memory only; the store keeps them, and readers fall back to it.
struct RecentEvents: Sendable {
    private struct Entry {
        /// The event as its log line (`DocumentEvent.encodedLine()`).
        let line: [UInt8]
        /// Encoded on first need when the event was read from the store.
        var patch: OutboundMessage?
        var bytes: Int { line.count + (patch?.count ?? 0) }
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
    var oldestVersion: UInt64 { latestVersion - UInt64(entries.count) }

    /// Adds the event after `latestVersion`, given as its log line, and the Patch broadcast for
    /// it, then evicts the oldest entries over either bound.
    mutating func append(line: [UInt8], version: UInt64, patch: OutboundMessage?) {
        if version != latestVersion + 1 { reset(to: version - 1) }
        // A copy holds exactly the line's bytes, not the spare capacity of the encoder's buffer.
        let entry = Entry(line: Array(line[...]), patch: patch)
        entries.append(entry)
        bytes += entry.bytes
        latestVersion = version
        while let oldest = entries.first, entries.count > maximumCount || bytes > maximumBytes {
            bytes -= oldest.bytes
            entries.removeFirst()
        }
    }

    /// Adds the event after `latestVersion` and the Patch broadcast for it; an event that cannot
    /// be encoded leaves memory without events (readers then ask the store).
    mutating func append(_ event: DocumentEvent, patch: OutboundMessage?) {
        guard let line = try? event.encodedLine() else {
            reset(to: event.version)
            return
        }
        append(line: line, version: event.version, patch: patch)
    }

    /// Adds events read from the store, ending at `latestVersion`, keeping the newest within the bounds.
    mutating func seed(with loaded: [DocumentEvent]) {
        guard let last = loaded.last, last.version == latestVersion else { return }
        let start = loaded.startIndex + max(0, loaded.count - maximumCount)
        latestVersion = loaded[start].version - 1
        for event in loaded[start...] { append(event, patch: nil) }
        latestVersion = last.version
    }

    /// Forgets every event: the document jumped to `version` by other means than events.
    mutating func reset(to version: UInt64) {
        entries.removeAll()
        bytes = 0
        latestVersion = version
    }

    /// The events after `version`, at most `limit` of them, or nil when memory does not reach
    /// back that far (or `version` is in the future, or a kept line does not decode).
    func events(after version: UInt64, limit: Int = .max) -> [DocumentEvent]? {
        guard let start = index(after: version) else { return nil }
        let end = start + min(limit, entries.count - start)
        var events: [DocumentEvent] = []
        events.reserveCapacity(end - start)
        for index in start..<end {
            guard let event = event(at: index) else { return nil }
            events.append(event)
        }
        return events
    }

    /// The Patch messages of the events after `version`, encoding (once) those not kept yet;
    /// nil when memory does not reach back that far or a Patch cannot be encoded.
    mutating func patches(after version: UInt64) -> [OutboundMessage]? {
        guard let start = index(after: version) else { return nil }
        var messages: [OutboundMessage] = []
        for index in start..<entries.endIndex {
            if entries[index].patch == nil {
                guard let event = event(at: index),
                    let patch = try? ServerMessage.patch(event.ops, version: event.version)
                else { return nil }
                entries[index].patch = patch
                bytes += patch.count
            }
            messages.append(entries[index].patch!)
        }
        return messages
    }

    /// The event kept at `index`, decoded from its line; nil if the line does not hold that event.
    private func event(at index: Int) -> DocumentEvent? {
        guard let json = try? JSONCodec.decode(entries[index].line), let event = try? DocumentEvent(json: json),
            event.version == oldestVersion + UInt64(index) + 1
        else { return nil }
        return event
    }

    private func index(after version: UInt64) -> Int? {
        guard version <= latestVersion else { return nil }
        guard version >= oldestVersion else { return nil }
        return Int(version - oldestVersion)
    }
}
