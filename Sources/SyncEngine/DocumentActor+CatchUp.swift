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
            context.metrics.recordCatchUp()
            var sent = 0
            var bytes = 0
            // Written by another instance, which may run other types: checked in full next time.
            stateIsValidated = false
            for event in stored.events {
                let before = stateJSON
                guard (try? DocumentHistory.replay(CollectionOfOne(event), onto: &stateJSON, after: version)) != nil,
                    let message = try? ServerMessage.patch(event.ops, version: event.version)
                else {
                    stateJSON = before
                    logger.warning(
                        "Events from the store do not follow this instance's state; reloading the document",
                        metadata: ["document": "\(name)", "version": "\(version)", "event": "\(event.version)"])
                    await reloadAfterGap()
                    return
                }
                stateSize = stateSize.updated(by: event.ops, from: before, to: stateJSON).size
                version = event.version
                stateJSONIsBuilt = false
                stateIsCurrent = false
                recent.append(event, patch: message)
                // Another instance's action: a resend of it here gets its outcome, not a second apply.
                outcomes.recordLogged(CollectionOfOne(event))
                context.metrics.recordBroadcast()
                for link in sessions.values where link.send(message) {
                    sent += 1
                    bytes += message.count
                }
            }
            fullMessages.removeAll()
            publish(changedAt: stored.events.last?.time)
            context.metrics.recordSent(messages: sent, bytes: bytes)
            if stored.events.count < Self.catchUpChunk { return }
        }
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
