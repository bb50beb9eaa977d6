import JSONPatch
import Logging
import SyncProtocol

/// Sessions joining and resuming, history pages, and presence.
extension DocumentActor {
    /// Sends nothing encoded for this session alone when it can: joins at one version share one
    /// Full per role, resumes the Patches kept for the events in memory. Only a resume from
    /// further back than memory reaches encodes Patches of events read from the store.
    func attach(_ session: SessionID, since: UInt64?, link: EngineSession) async {
        sessions[session] = link
        context.metrics.recordSessions(1)
        if let since, since <= version {
            var messages = recent.patches(after: since)
            if messages == nil, version - since <= UInt64(context.retainedEvents),
                case .success(let stored) = await storedEvents(after: since, limit: Int(version - since)),
                stored.events.first?.version == since + 1, stored.events.count == Int(version - since)
            {
                messages = Self.patches(of: stored.events)
            }
            if let messages {
                resume(link, with: messages)
                return
            }
        }
        sendFull(to: link)
    }

    /// The Patch messages of `events`, or nil if one cannot be encoded.
    static func patches(of events: [DocumentEvent]) -> [OutboundMessage]? {
        var messages: [OutboundMessage] = []
        for event in events {
            guard let message = try? ServerMessage.patch(event.ops, version: event.version) else { return nil }
            messages.append(message)
        }
        return messages
    }

    /// Whom a broadcast's `beginBroadcast` and `endBroadcast` go to: one session's transport
    /// stands for all, since a server's sessions share one.
    var broadcastTransport: (any TransportSession)? { sessions.values.first?.output }

    func resume(_ link: EngineSession, with messages: [OutboundMessage]) {
        var sent = 0
        var bytes = 0
        for message in messages where link.send(message) {
            sent += 1
            bytes += message.count
        }
        context.metrics.recordSent(messages: sent, bytes: bytes)
    }

    func sendFull(to link: EngineSession) {
        do {
            let full = try fullMessages.message(
                for: link.role, at: version, state: stateJSON, size: stateSize.bytes, of: kind)
            if link.send(full) { context.metrics.recordSent(messages: 1, bytes: full.count) }
        } catch {
            logger.error(
                "Cannot encode the state for a new session",
                metadata: ["document": "\(name)", "error": "\(error)"])
            link.output.close(.tryAgainLater, reason: "state cannot be encoded")
        }
    }

    /// A page of events after `since`: from memory when it reaches back that far, else from the store.
    func history(since: UInt64, limit: Int) async -> Result<HistoryPage, SyncEngineError> {
        let limit = max(0, limit)
        if let events = recent.events(after: since, limit: limit) {
            return .success(
                HistoryPage(
                    events: events, oldestVersion: oldestStoredVersion + 1,
                    isTruncated: since < oldestStoredVersion))
        }
        switch await storedEvents(after: since, limit: limit) {
        case .success(let stored):
            oldestStoredVersion = stored.oldestVersion
            return .success(
                HistoryPage(
                    events: stored.events, oldestVersion: stored.oldestVersion + 1,
                    isTruncated: since < stored.oldestVersion))
        case .failure(let error):
            return .failure(SyncEngineError(error.engineErrorKind, "cannot read the history: \(error)"))
        }
    }

    func storedEvents(after since: UInt64, limit: Int) async -> Result<StoredEvents, StorageError> {
        let (store, name) = (self.store, self.name)
        let result = await Result(awaiting: { () async throws(StorageError) in
            try await store.events(of: name, after: since, limit: limit)
        })
        if case .failure(let error) = result {
            logger.warning(
                "Cannot read past events from the store", metadata: ["document": "\(name)", "error": "\(error)"])
        }
        return result
    }

    /// Hello and Focus: the sender gets the roster after a Hello, the others (here and, through
    /// the presence bus, on other instances) hear of the change. Acknowledged like an action
    /// when they carry an `id`.
    func updatePresence(
        _ request: PresenceRequest, from session: SessionID, link: EngineSession, id: JSONValue?, into batch: inout Batch
    ) {
        let now = WallClock.milliseconds()
        let change: PresenceChange
        switch request {
        case .hello(let name):
            guard
                let entry = roster.hello(
                    session, name: name, client: link.client, user: link.author, since: link.since, role: link.role,
                    now: now)
            else {
                let rejection = ActionRejected(
                    .rateLimited, "more than \(PresenceBudget.perSecond) renames and Focus messages per second; this Hello is dropped")
                reject(session, id: id, rejection, into: &batch)
                return
            }
            batch.outputs.append(.reply(session, OutboundMessage.presence(roster.entries)))
            change = .joined(entry)
        case .focus(let focus):
            switch roster.focus(session, on: focus, now: now) {
            case .changed:
                change = .focused(session, focus)
            case .notPresent:
                reject(session, id: id, ActionRejected(.invalidAction, "send Hello before Focus"), into: &batch)
                return
            case .tooFast:
                let rejection = ActionRejected(
                    .rateLimited, "more than \(PresenceBudget.perSecond) Focus messages and renames per second; this one is dropped")
                reject(session, id: id, rejection, into: &batch)
                return
            }
        }
        announce(change, except: session, into: &batch)
        if let id { batch.outputs.append(.reply(session, ServerMessage.ack(id: id, version: version))) }
    }

    /// A local session left: if it said Hello, everyone hears of it.
    func leavePresence(_ session: SessionID, into batch: inout Batch) {
        if roster.leave(session) { announce(.left(session), except: session, into: &batch) }
    }

    /// Another instance's session changed (through the presence bus).
    func applyRemotePresence(_ change: PresenceChange, into batch: inout Batch) {
        if roster.applyRemote(change) { batch.outputs.append(.toPresent(OutboundMessage.presence(change), except: nil)) }
    }

    private func announce(_ change: PresenceChange, except session: SessionID, into batch: inout Batch) {
        batch.outputs.append(.toPresent(OutboundMessage.presence(change), except: session))
        context.presenceBus?.publish(change, on: name)
    }
}
