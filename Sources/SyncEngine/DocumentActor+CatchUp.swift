import JSONPatch
import Logging
import SyncProtocol

/// Changes committed by other writers to a shared store.
extension DocumentActor {
    /// Applies the events other writers committed after `version`, broadcasting each like a local change.
    func catchUp() async {
        let (store, name) = (self.store, self.name)
        while true {
            let after = version
            let result = await Result(awaiting: { () async throws(StorageError) in
                try await store.events(of: name, after: after, limit: Self.catchUpChunk)
            })
            guard case .success(let stored) = result else {
                if case .failure(let error) = result {
                    logger.debug(
                        "Cannot catch up with the store yet", metadata: ["document": "\(name)", "error": "\(error)"])
                }
                return
            }
            if stored.events.isEmpty {
                if stored.oldestVersion > version { await reloadAfterGap() }
                return
            }
            guard applyStored(stored.events) else {
                await reloadAfterGap()
                return
            }
            if stored.events.count < Self.catchUpChunk { return }
            // A long backlog: sessions that joined meanwhile get the state reached so far, and
            // the Patches of the next run, rather than waiting for the end of the backlog.
            for join in takeQueuedJoins() { await attach(join.session, since: join.since, link: join.link) }
        }
    }

    /// Applies events other writers committed right after `version`, all or none, broadcasting
    /// each like a local change. False (nothing applied) when they do not follow this state: the
    /// caller reloads the document.
    func applyStored(_ events: [DocumentEvent]) -> Bool {
        guard !events.isEmpty else { return true }
        context.metrics.recordCatchUp()
        // Written by another instance, which may run other types: checked in full next time.
        stateIsValidated = false
        guard let messages = applyRun(events) else {
            logger.warning(
                "Events from the store do not follow this instance's state; reloading the document",
                metadata: [
                    "document": "\(name)", "version": "\(version)",
                    "events": "\(events.first?.version ?? 0)...\(events.last?.version ?? 0)",
                ])
            return false
        }
        var sent = 0
        var bytes = 0
        // Only the sends: the service thread wakes as they end, not after the work below.
        let transport = broadcastTransport
        transport?.beginBroadcast()
        for message in messages {
            context.metrics.recordBroadcast()
            for link in sessions.values where link.send(message) {
                sent += 1
                bytes += message.count
            }
        }
        transport?.endBroadcast()
        fullMessages.removeAll()
        publish(changedAt: events.last?.time)
        context.metrics.recordSent(messages: sent, bytes: bytes)
        return true
    }

    /// Applies a run of events to the state, all or none: the state is copied once for the run
    /// (to return to if an event does not follow), not once per event, and its size is measured
    /// once. Returns the run's Patch messages, or nil with the state unchanged.
    private func applyRun(_ events: [DocumentEvent]) -> [OutboundMessage]? {
        let start = stateJSON
        var messages: [OutboundMessage] = []
        messages.reserveCapacity(events.count)
        for event in events {
            guard let message = try? ServerMessage.patch(event.ops, version: event.version) else { return nil }
            messages.append(message)
        }
        guard let reached = try? DocumentHistory.replay(events, onto: &stateJSON, after: version) else {
            stateJSON = start
            return nil
        }
        version = reached
        // Measured only where the run changed it when its operations allow (few, none inside another).
        let run = JSONPatch(events.flatMap(\.ops.operations))
        stateSize = stateSize.updated(by: run, from: start, to: stateJSON).size
        stateJSONIsBuilt = false
        stateIsCurrent = false
        for (event, message) in zip(events, messages) { recent.append(event, patch: message) }
        // Another instance's actions: a resend of one here gets its outcome, not a second apply.
        outcomes.recordLogged(events)
        return messages
    }

    /// Reads the document again and sends every session a Full. If the store cannot answer,
    /// the document stays as it is: the next catch-up finds the gap again.
    func reloadAfterGap() async {
        switch await readFromStore() {
        case .success(let loaded?):
            take(loaded.0, state: loaded.1)
            for link in sessions.values { sendFull(to: link) }
        case .success(nil):
            break
        case .failure(let error):
            logger.error(
                "Cannot reload the document; it catches up again later",
                metadata: ["document": "\(name)", "error": "\(error)"])
        }
    }
}
