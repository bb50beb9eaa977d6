/// Outcomes of actions older than what memory holds, asked of a shared store, so that a resend
/// of any logged action gets its original answer, not a second apply.
extension DocumentActor {
    /// Before the messages among `work` apply: when the outcomes in memory do not reach back to
    /// the oldest event a shared store keeps (all of them, for PostgreSQL), reads the logged
    /// actions among the messages that memory does not know, with one store call. If the store
    /// cannot answer, the messages apply anyway: their commit fails then, or the store's unique
    /// `(client, id)` refuses a repeat (`.repeatedAction`).
    func recallOutcomes(before work: [DocumentWork]) async {
        guard store.capabilities.contains(.otherWriters), outcomes.completeAfter > oldestStoredVersion else { return }
        // Sessions that connect in this same round are not attached yet.
        var clients = sessions.compactMapValues(\.client)
        var messages: [(SessionID, IncomingMessage)] = []
        for item in work {
            switch item {
            case .connect(let session, _, let link): clients[session] = link.client
            case .message(let session, let message): messages.append((session, message))
            default: break
            }
        }
        let unknown = keys(of: messages, clients: clients).filter { !outcomes.contains($0) }
        guard !unknown.isEmpty else { return }
        if case .failure(let error) = await recall(unknown) {
            logger.debug(
                "Cannot ask the store for earlier outcomes", metadata: ["document": "\(name)", "error": "\(error)"])
        }
    }

    /// After the store refused a batch (rolled back now) as repeating a logged `(client, id)`:
    /// catches up, then reads the logged actions of the batch's messages that memory does not
    /// know. Fails if the store cannot answer, or if no more of the batch's keys are known than
    /// before (reducing the batch again would meet the same refusal; e.g. ids equal as jsonb but
    /// not as JSON, `7` and `7.0`).
    func recallRepeatedActions(of messages: [(SessionID, IncomingMessage)]) async -> Result<Void, StorageError> {
        let batchKeys = keys(of: messages, clients: sessions.compactMapValues(\.client))
        let knownBefore = batchKeys.count(where: { outcomes.contains($0) })
        await catchUp()
        if case .failure(let error) = await recall(batchKeys.filter { !outcomes.contains($0) }) {
            return .failure(error)
        }
        guard batchKeys.count(where: { outcomes.contains($0) }) > knownBefore else {
            return .failure(
                StorageError(
                    kind: .database, path: name.rawValue,
                    message: "the store refused an action id as a repeat but holds no event with the same id"))
        }
        return .success(())
    }

    /// The `(client, id)` of each message whose sender named itself and gave an id, once each.
    private func keys(of messages: [(SessionID, IncomingMessage)], clients: [SessionID: ClientID]) -> [ActionKey] {
        var keys: [ActionKey] = []
        var seen: Set<ActionKey> = []
        for (session, message) in messages {
            guard let client = clients[session], let id = ClientMessageParser.id(of: message) else { continue }
            let key = ActionKey(client: client, id: id)
            if seen.insert(key).inserted { keys.append(key) }
        }
        return keys
    }

    /// Reads the events that logged `keys` and remembers their outcomes; catches up first when
    /// one of them is newer than this instance's version.
    private func recall(_ keys: [ActionKey]) async -> Result<Void, StorageError> {
        guard !keys.isEmpty else { return .success(()) }
        let (store, name) = (self.store, self.name)
        switch await Result(awaiting: { () async throws(StorageError) in try await store.loggedActions(of: name, keys) }) {
        case .success(let events):
            if events.contains(where: { $0.version > version }) { await catchUp() }
            outcomes.recordLogged(events)
            return .success(())
        case .failure(let error):
            return .failure(error)
        }
    }
}
