import JSONPatch
import Logging
import SyncProtocol

/// Client messages and inbox entries turned into changes or refusals.
extension DocumentActor {
    func apply(_ message: IncomingMessage, from session: SessionID, into batch: inout Batch) {
        guard let link = sessions[session] else { return }
        let envelope: ClientEnvelope
        do {
            envelope = try ClientMessageParser.envelope(message, limits: context.limits)
        } catch {
            reject(session, id: error.id, ActionRejected(error.code, error.message), into: &batch)
            return
        }
        do {
            if let request = try PresenceRequest(envelope) {
                updatePresence(request, from: session, link: link, id: envelope.id, into: &batch)
                return
            }
        } catch {
            reject(session, id: envelope.id, error, into: &batch)
            return
        }
        // A viewer's actions never reach the outcome memory: each is refused for the session's
        // role, not for what it asks, so remembering it would let a viewer with an editor's
        // client id occupy that editor's `(client, id)` with `forbidden`.
        let key =
            link.role == .editor
            ? link.client.flatMap { client in envelope.id.map { ActionKey(client: client, id: $0) } } : nil
        let digest = key.map { _ in ActionDigest(envelope.body) }
        if let key, let digest {
            switch outcomes.lookup(key, digest: digest) {
            case .new:
                break
            case .repeated(.accepted(let version)) where version > (batch.rollback?.version ?? self.version):
                // The original is in this very batch: its fate is this one's.
                batch.outputs.append(.outcome(session, id: envelope.id, version: version, isRepeat: true))
                return
            case .repeated(.accepted(let version)):
                batch.outputs.append(.reply(session, ServerMessage.ack(id: key.id, version: version)))
                return
            case .repeated(.rejected(let reply)):
                batch.outputs.append(.reply(session, reply))
                return
            case .differentBody:
                let rejection = ActionRejected(
                    .duplicateID, "client \(key.client) already sent another action with this id; use a new id")
                reject(session, id: envelope.id, rejection, into: &batch)
                return
            }
        }

        let source = ActionSource(
            client: link.client, id: envelope.id, digest: digest, name: roster.name(of: session), author: link.author)
        switch perform(envelope, source: source, link: link, into: &batch) {
        case .success(let change):
            batch.outputs.append(.outcome(session, id: envelope.id, version: change.version))
            guard let key, let digest else { return }
            if change.isLogged {
                outcomes.recordLogged(key, digest: digest, version: change.version, time: WallClock.milliseconds())
            } else {
                outcomes.recordTransient(
                    key, digest: digest, outcome: .accepted(version: change.version), time: WallClock.milliseconds())
            }
            batch.remembered.append(key)
        case .failure(let rejection):
            let reply = reject(session, id: envelope.id, rejection, into: &batch)
            if let key, let digest, rejection.code.isFinal {
                outcomes.recordTransient(key, digest: digest, outcome: .rejected(reply), time: WallClock.milliseconds())
            }
        }
    }

    /// The version an accepted action left the document at, and whether it changed anything.
    struct Change {
        let version: UInt64
        let isLogged: Bool
    }

    /// Checks the role, decodes the action and applies it.
    func perform(_ envelope: ClientEnvelope, source: ActionSource, link: EngineSession, into batch: inout Batch)
        -> Result<Change, ActionRejected>
    {
        guard link.role == .editor else {
            return .failure(ActionRejected(.forbidden, "this session is a viewer and may not send actions"))
        }
        guard ensureStateIsCurrent() else {
            return .failure(ActionRejected(.internalError, "the document's state cannot be decoded"))
        }
        if kind.acceptsRawPatches, envelope.type == "Patch" {
            return applyRawPatch(envelope, source: source, into: &batch)
        }
        guard kind.acceptsActions else { return .failure(typedActionRefusal(envelope.type)) }
        let decoded: DecodedAction<Model.Action>
        do throws(ClientMessageError) {
            decoded = try ClientMessageParser.action(envelope, as: Model.Action.self)
        } catch {
            return .failure(ActionRejected(error.code, error.message))
        }
        // Reduced in place: copying a large state for every action would cost more than the
        // rest of the action. `reduce` leaves the state as it was when it throws.
        do {
            try Model.reduce(&state, decoded.action)
        } catch {
            return .failure(error)
        }
        let before = version
        do {
            let after = try stage(after: decoded.action, actionJSON: decoded.json, source: source, into: &batch)
            return .success(Change(version: after, isLogged: after != before))
        } catch {
            resetState(to: stateJSON)
            return .failure(error)
        }
    }

    /// Applies an action from the store's inbox, as an editor would send it, in a batch of its
    /// own that also claims the entry; a refusal is recorded in the entry.
    func apply(_ entry: InboxEntry) async {
        while ensureStateIsCurrent() {
            var batch = Batch()
            batch.inboxEntry = entry
            if let refusal = stage(entry, into: &batch) {
                return await reject(entry, code: refusal.code, message: refusal.message)
            }
            switch await commit(&batch) {
            case .committed:
                context.metrics.recordInboxApplied()
                return
            case .failed, .inboxEntryTaken:
                return  // still pending, or done elsewhere: the periodic sweep covers the first
            case .superseded:
                continue  // another writer got there first: reduce again on the newer state
            }
        }
    }

    /// Reduces an inbox entry's action (or raw Patch) on the current state and stages it into
    /// `batch`; the refusal if it is refused, the state then unchanged. Synchronous, so that a
    /// commit under the document's lock can reduce it again on others' events.
    func stage(_ entry: InboxEntry, into batch: inout Batch) -> ActionRejected? {
        guard ensureStateIsCurrent() else {
            return ActionRejected(.internalError, "the document's state cannot be decoded")
        }
        let source = ActionSource(client: nil, id: nil, digest: nil, name: nil, author: entry.author)
        let decoded: DecodedAction<Model.Action>
        do throws(ClientMessageError) {
            let envelope = try ClientMessageParser.envelope(.text(entry.action), limits: context.limits)
            if kind.acceptsRawPatches, envelope.type == "Patch" {
                if case .failure(let refusal) = applyRawPatch(envelope, source: source, into: &batch) { return refusal }
                return nil
            }
            guard kind.acceptsActions else { return typedActionRefusal(envelope.type) }
            decoded = try ClientMessageParser.action(envelope, as: Model.Action.self)
        } catch {
            return ActionRejected(error.code, error.message)
        }
        do {
            try Model.reduce(&state, decoded.action)
        } catch {
            return ActionRejected(error.code, error.message)
        }
        do {
            _ = try stage(after: decoded.action, actionJSON: decoded.json, source: source, into: &batch)
        } catch {
            resetState(to: stateJSON)
            return ActionRejected(error.code, error.message)
        }
        return nil
    }

    /// The refusal of a typed action on a document whose model takes raw Patches only.
    func typedActionRefusal(_ type: String?) -> ActionRejected {
        ActionRejected(
            .invalidAction,
            "\(type.map { "\"\($0)\"" } ?? "the action"): document \"\(name)\" is of type \(kind.modelName), "
                + "which takes Patch messages only")
    }

    func reject(_ entry: InboxEntry, code: SyncErrorCode, message: String) async {
        context.metrics.recordRejected(code)
        let (store, version) = (self.store, self.version)
        let result = await Result(awaiting: { () async throws(StorageError) in
            try await store.rejectInboxEntry(entry, code: code, message: message, at: version)
        })
        if case .failure(let error) = result {
            logger.warning(
                "Cannot record the refusal of an inbox entry; it stays pending",
                metadata: ["document": "\(name)", "entry": "\(entry.id)", "error": "\(error)"])
        }
    }

    /// Decodes `state` from `stateJSON` after changes from elsewhere; false if it cannot be.
    func ensureStateIsCurrent() -> Bool {
        guard !stateIsCurrent else { return true }
        resetState(to: stateJSON)
        return stateIsCurrent
    }

    @discardableResult
    func reject(_ session: SessionID, id: JSONValue?, _ rejection: ActionRejected, into batch: inout Batch)
        -> OutboundMessage
    {
        context.metrics.recordRejected(rejection.code)
        let reply = ServerMessage.error(
            id: id, code: rejection.code, message: rejection.message, version: rejection.version)
        batch.outputs.append(.reply(session, reply))
        return reply
    }
}
