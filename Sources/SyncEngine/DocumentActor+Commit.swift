import Logging
import SyncProtocol

/// Making a batch durable, then sending its replies and broadcasts in order.
extension DocumentActor {
    /// Makes the batch's events durable with one store append, then sends its outputs in order.
    /// If the write fails, the state returns to the last durable one, and every accepted action of
    /// the batch gets `storage_unavailable` instead of its Patch and Ack. If another writer got
    /// there first, its events are applied and the batch's messages reduced again on top of them;
    /// likewise when it refuses an action as a repeat of one logged elsewhere, whose outcome is
    /// read first so that the repeat is answered with it.
    @discardableResult
    func commit(_ batch: inout Batch) async -> CommitOutcome {
        // Outcomes of actions still in memory stay: a restart would read them again from the store.
        outcomes.expire(now: WallClock.milliseconds(), retainedAfter: recent.oldestVersion)
        while true {
            var pending = batch
            batch = Batch()
            guard !pending.events.isEmpty || pending.inboxEntry != nil else {
                send(pending.outputs, writeFailed: false)
                return .committed
            }
            let store = self.store
            let result: Result<AppendResult, StorageError>
            if canCommitUnderLock(pending), let until = lockedCommitsUntil, until > .now {
                switch await appendUnderLock(&pending) {
                case .written(let written):
                    result = written
                case .nothingToWrite:
                    send(pending.outputs, writeFailed: false)
                    return .committed
                case .reload:
                    await reloadAfterGap()
                    guard pending.inboxEntry == nil else { return .superseded }
                    batch.messages = pending.messages
                    for (session, message) in pending.messages { apply(message, from: session, into: &batch) }
                    continue
                case .superseded:
                    return .superseded
                }
            } else {
                let commit = storeCommit(of: pending)
                result = await Result(awaiting: { () async throws(StorageError) in try await store.append(commit) })
            }
            switch result {
            case .success(.committed(let duration)):
                context.metrics.recordSync(duration: duration)
                for index in pending.events.indices {
                    recent.append(
                        line: pending.encodedEvents[index], version: pending.events[index].version,
                        patch: pending.patches[index])
                }
                fullMessages.stateChanged(to: version, by: pending.changedMembers)
                publish(changedAt: pending.events.last?.time)
                send(pending.outputs, writeFailed: false)
                let name = self.name
                if let oldest = await store.maintain(name) {
                    oldestStoredVersion = oldest
                }
                return .committed
            case .success(.inboxEntryTaken):
                rollBack(pending)
                await catchUp()
                return .inboxEntryTaken
            case .success(.conflict):
                context.metrics.recordConflict()
                if canCommitUnderLock(pending) {
                    // Others write this document too: from now on under its lock, which hands
                    // over their events, so this batch is reduced once more and then written.
                    lockedCommitsUntil = .now + context.lockedCommitPeriod
                    batch = pending
                    continue
                }
                rollBack(pending)
                await catchUp()
                guard !pending.messages.isEmpty else { return .superseded }
                batch.messages = pending.messages
                for (session, message) in pending.messages { apply(message, from: session, into: &batch) }
            case .success(.repeatedAction):
                rollBack(pending)
                if case .failure(let error) = await recallRepeatedActions(of: pending.messages) {
                    send(pending.outputs, writeFailed: true)
                    return .failed(error)
                }
                batch.messages = pending.messages
                for (session, message) in pending.messages { apply(message, from: session, into: &batch) }
            case .failure(let error):
                logger.error(
                    "Cannot write to the store; the batch is refused and the state rolled back",
                    metadata: [
                        "document": "\(name)", "error": "\(error)", "events": "\(pending.events.count)",
                    ])
                rollBack(pending)
                send(pending.outputs, writeFailed: true)
                return .failed(error)
            }
        }
    }

    /// How a commit under the document's lock ended.
    enum LockedAppend {
        /// The store wrote the batch (reduced again if others had committed), or failed.
        case written(Result<AppendResult, StorageError>)
        /// Reduced again on others' events, the batch changes nothing (its replies are refusals).
        case nothingToWrite
        /// Others' events did not follow this state: reload the document, then reduce again.
        case reload
        /// Reduced again on others' events, the batch's inbox entry is refused: nothing was
        /// written, and its caller reduces it once more to record the refusal.
        case superseded
    }

    /// Batches of client messages or an inbox entry can be reduced again on others' events; a
    /// revert is rebuilt by its caller (`.superseded`), so it keeps the optimistic commit. Inbox
    /// entries kept it too once: on a document others write under the lock, they lost every
    /// race, and the sessions queued behind them on this instance waited.
    private func canCommitUnderLock(_ batch: Batch) -> Bool {
        store.capabilities.contains(.otherWriters) && (batch.inboxEntry != nil || !batch.messages.isEmpty)
    }

    /// Commits `batch` with `DocumentStore.append(locking:after:claiming:_:)`: while the store
    /// holds the document's lock, applies the events others committed meanwhile and reduces the
    /// batch's messages again on top of them (`batch` becomes that batch). Nothing here may wait
    /// for the store between the handover and `submit`: it holds the lock, waiting, until then.
    private func appendUnderLock(_ batch: inout Batch) async -> LockedAppend {
        let exchange = LockedCommit()
        let (store, name, after, entry) = (self.store, self.name, batch.rollback?.version ?? version, batch.inboxEntry)
        // A child task: the store's call runs beside this actor, which answers it (`submit`).
        async let written = Result(awaiting: { () async throws(StorageError) -> AppendResult in
            defer { exchange.end() }
            return try await store.append(locking: name, after: after, claiming: entry, exchange)
        })
        guard case .events(let newer) = await exchange.handover() else { return .written(await written) }
        var outcome: LockedAppend?
        if !newer.isEmpty {
            lockedCommitsUntil = .now + context.lockedCommitPeriod
            let messages = batch.messages
            rollBack(batch)
            batch = Batch()
            batch.messages = messages
            batch.inboxEntry = entry
            if !applyStored(newer) {
                outcome = .reload
            } else if let entry {
                if stage(entry, into: &batch) != nil { outcome = .superseded }
            } else {
                for (session, message) in messages { apply(message, from: session, into: &batch) }
            }
        }
        if outcome == nil, batch.events.isEmpty, entry == nil { outcome = .nothingToWrite }
        exchange.submit(outcome == nil ? storeCommit(of: batch) : nil)
        let result = await written
        return outcome ?? .written(result)
    }

    private func storeCommit(of batch: Batch) -> StoreCommit {
        StoreCommit(
            name: name, startVersion: batch.rollback?.version ?? version, events: batch.events,
            encodedEvents: batch.encodedEvents, state: stateJSON, inboxEntry: batch.inboxEntry)
    }

    func rollBack(_ batch: Batch) {
        outcomes.forget(batch.remembered)
        guard let rollback = batch.rollback else { return }
        for undo in rollback.undo.reversed() { self.undo(undo) }
        fullMessages.removeAll()
        stateJSONIsBuilt = rollback.jsonIsBuilt
        stateIsValidated = false
        stateSize = rollback.size
        version = rollback.version
        resetState(to: stateJSON)
    }

    /// Gives `stateJSON` back as it was before one staged change.
    func undo(_ undo: Undo) {
        switch undo {
        case .json(let json):
            stateJSON = json
        case .member(let change, let position):
            let restored = stateJSON.setMember(
                at: change.object[...], change.key, to: change.value, insertingAt: position)
            assert(restored, "the object of a member changed in place is gone: \(change.pointer)")
        }
    }

    func send(_ outputs: [Output], writeFailed: Bool) {
        guard !outputs.isEmpty else { return }
        let transport = broadcastTransport
        transport?.beginBroadcast()
        defer { transport?.endBroadcast() }
        var sent = 0
        var bytes = 0
        func deliver(_ message: OutboundMessage, to link: EngineSession) {
            if link.send(message) {
                sent += 1
                bytes += message.count
            }
        }
        for output in outputs {
            switch output {
            case .broadcast(let message):
                guard !writeFailed else { continue }
                context.metrics.recordBroadcast()
                for link in sessions.values { deliver(message, to: link) }
            case .reply(let session, let message):
                if let link = sessions[session] { deliver(message, to: link) }
            case .toPresent(let message, let except):
                for member in roster.sessions where member != except {
                    if let link = sessions[member] { deliver(message, to: link) }
                }
            case .outcome(let session, let id, let version, let isRepeat):
                let reply: OutboundMessage?
                if writeFailed {
                    context.metrics.recordRejected(.storageUnavailable)
                    reply = ServerMessage.error(
                        id: id, code: .storageUnavailable,
                        message: "the change could not be saved (the store failed) and was not applied; try again later")
                } else {
                    if !isRepeat { context.metrics.recordApplied(1) }
                    reply = id.map { ServerMessage.ack(id: $0, version: version) }
                }
                if let reply, let link = sessions[session] { deliver(reply, to: link) }
            case .close(let session, let code, let reason):
                sessions[session]?.output.close(code, reason: reason)
            }
        }
        context.metrics.recordSent(messages: sent, bytes: bytes)
    }
}
