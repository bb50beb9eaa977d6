/// The sessions other instances have on each document, kept from their bus messages
/// (`PresenceMessage`), and the changes that local sessions which said Hello must hear of.
///
/// An instance not heard from for its `timeout` is gone (killed, cut off): its sessions leave.
/// An instance heard from for the first time other than through its full roster (this one
/// started after it, or dropped it after a silence) is asked for its roster.
struct RemotePresence {
    enum Effect: Equatable {
        case change(DocumentName, PresenceChange)
        case requestRoster(from: UInt32)
    }

    private struct Instance {
        var heard: ContinuousClock.Instant
        var timeout: Duration
        var documents: [DocumentName: [PresenceEntry]] = [:]
        /// A roster being received: it replaces `documents` at `rosterEnds`.
        var incoming: [DocumentName: [PresenceEntry]]?
    }

    private var instances: [UInt32: Instance] = [:]
    /// How long an instance that has not said otherwise (`alive`) may stay silent.
    let defaultTimeout: Duration

    init(defaultTimeout: Duration) {
        self.defaultTimeout = defaultTimeout
    }

    /// The other instances' sessions on `document`, by instance, each in the order it listed them.
    func entries(of document: DocumentName) -> [PresenceEntry] {
        instances.keys.sorted().flatMap { instances[$0]?.documents[document] ?? [] }
    }

    mutating func receive(_ message: PresenceMessage, now: ContinuousClock.Instant) -> [Effect] {
        var effects: [Effect] = []
        var instance: Instance
        if let known = instances[message.instance] {
            instance = known
        } else {
            if message.notices.first == .gone { return [] }
            instance = Instance(heard: now, timeout: defaultTimeout)
            if !message.notices.contains(.rosterBegins) { effects.append(.requestRoster(from: message.instance)) }
        }
        instance.heard = now
        for notice in message.notices {
            switch notice {
            case .alive(let timeout):
                instance.timeout = timeout
            case .change(let document, let change):
                if var incoming = instance.incoming {
                    _ = incoming[document, default: []].apply(change)
                    instance.incoming = incoming
                } else if instance.documents[document, default: []].apply(change) {
                    effects.append(.change(document, change))
                }
            case .rosterBegins:
                instance.incoming = [:]
            case .rosterEnds:
                guard let incoming = instance.incoming else { continue }
                effects += Self.differences(from: instance.documents, to: incoming)
                instance.documents = incoming
                instance.incoming = nil
            case .rosterRequest:
                continue
            case .gone:
                effects += Self.differences(from: instance.documents, to: [:])
                instances[message.instance] = nil
                return effects
            }
        }
        instance.documents = instance.documents.filter { !$0.value.isEmpty }
        instances[message.instance] = instance
        return effects
    }

    /// Drops the instances silent for longer than their timeout: their sessions leave.
    mutating func expire(now: ContinuousClock.Instant) -> [Effect] {
        var effects: [Effect] = []
        for (number, instance) in instances where now - instance.heard > instance.timeout {
            effects += Self.differences(from: instance.documents, to: [:])
            instances[number] = nil
        }
        return effects
    }

    /// The changes that turn `old` into `new`: leaves first, then joins and focus changes.
    private static func differences(
        from old: [DocumentName: [PresenceEntry]], to new: [DocumentName: [PresenceEntry]]
    ) -> [Effect] {
        var effects: [Effect] = []
        for (document, entries) in old.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let kept = Set((new[document] ?? []).map(\.session))
            for entry in entries where !kept.contains(entry.session) {
                effects.append(.change(document, .left(entry.session)))
            }
        }
        for (document, entries) in new.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let before = old[document] ?? []
            for entry in entries {
                guard let previous = before.first(where: { $0.session == entry.session }) else {
                    effects.append(.change(document, .joined(entry)))
                    continue
                }
                var refocused = previous
                refocused.focus = entry.focus
                if refocused != entry {
                    effects.append(.change(document, .joined(entry)))
                } else if previous.focus != entry.focus {
                    effects.append(.change(document, .focused(entry.session, entry.focus)))
                }
            }
        }
        return effects
    }
}
