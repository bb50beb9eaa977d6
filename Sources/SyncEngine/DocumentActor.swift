import JSONCodec
import JSONPatch
import JSONValueCoding
import Logging
import Synchronization

/// One document: its state, sessions and store. Work is queued in a mailbox and drained by a
/// single task, so actions apply strictly in arrival order, and joins, reads and reverts see
/// only durable state.
///
/// Group commit: the drain takes everything queued at once, applies the actions, makes all
/// their events durable with one store append, and only then broadcasts the Patches and sends
/// the Acks. A shared store may answer that another writer got there first: the actor then
/// applies the events it missed and reduces the batch's actions again on top of them.
/// Sessions are owned by the actor and no lock is held while calling a `TransportSession`.
///
/// Lifecycle: a document created for a name the store holds reads it from the store before its
/// first work. Once it has no sessions, it asks the engine to unload it: at once if it was never
/// changed, after `idleUnloadDelay` without work otherwise. Unloaded, it takes no more work
/// (`enqueue` returns false) and the engine makes a new actor on demand.
actor DocumentActor<Model: DocumentModel> {
    private struct Mailbox {
        var items: [DocumentWork] = []
        var isDraining = false
        /// Unloaded: the engine no longer routes work here.
        var isRetired = false
    }

    /// Where the document's content comes from.
    enum Content: Sendable {
        /// Already read (at start-up), or a new document at version 0.
        case loaded(Model.State, StoredDocument)
        /// In the store at this version (0: a shared store may have it), read on first use.
        case stored(version: UInt64)
    }

    /// Whether the content is in memory.
    private enum Availability {
        case loaded
        case pending
        /// The store could not give the document back: every request gets this error until unloaded.
        case failed(SyncEngineError)
    }

    /// One reply or broadcast of a batch, sent in order once the batch is durable.
    private enum Output {
        case broadcast(OutboundMessage)
        case reply(SessionID, OutboundMessage)
        /// To every session that said Hello, but `except`.
        case toPresent(OutboundMessage, except: SessionID)
        /// An accepted action: an Ack (if it had an id) at `version`, or `storage_unavailable` if the write failed.
        /// `isRepeat`: a resend of an action of the same batch, answered but not applied again.
        case outcome(SessionID, id: JSONValue?, version: UInt64, isRepeat: Bool = false)
        /// Closes the session once everything before it is queued.
        case close(SessionID, CloseCode, reason: String)
    }

    /// Changes applied in memory but not yet durable.
    private struct Batch {
        var events: [DocumentEvent] = []
        /// The Patch broadcast for each of `events`.
        var patches: [OutboundMessage] = []
        var encodedEvents: [[UInt8]] = []
        var outputs: [Output] = []
        /// The client messages the batch was built from, to reduce again after a conflict.
        var messages: [(SessionID, IncomingMessage)] = []
        /// The inbox entry the batch applies (then it holds nothing else).
        var inboxEntry: InboxEntry?
        /// The durable state to return to if the write fails. Only its JSON is kept: holding the
        /// model state too would make the first action of every batch copy all of it.
        var rollback: (json: JSONValue, jsonIsBuilt: Bool, size: StateSize, version: UInt64)?
        /// Outcomes remembered for this batch's actions, forgotten again if the write fails.
        var remembered: [ActionOutcomes.Key] = []
    }

    /// How a commit ended.
    private enum CommitOutcome {
        case committed
        case failed(StorageError)
        /// Another writer got there first and the batch had no messages to reduce again (a revert,
        /// an inbox entry).
        case superseded
        /// The batch's inbox entry was applied by another instance.
        case inboxEntryTaken
    }

    /// Replies and broadcasts after which a batch is committed even if more work is queued.
    private static var maximumBatchOutputs: Int { 1024 }
    /// Events read from the store at once when catching up.
    private static var catchUpChunk: Int { 1000 }

    nonisolated let name: DocumentName
    /// The durable version, readable without waiting for the actor.
    nonisolated let publishedVersion: Atomic<UInt64>
    private nonisolated let mailbox = Mutex(Mailbox())

    private let context: DocumentContext
    private let store: any DocumentStore
    private var state: Model.State
    /// False when `stateJSON` moved on by events from elsewhere: `state` is decoded from it again
    /// only when an action needs it, so that watching instances never pay for a decode.
    private var stateIsCurrent = true
    private var stateJSON: JSONValue
    /// Whether `stateJSON` is exactly what the model builds for `state`, member order included,
    /// so that the model may derive the next JSON from it. Not after loading: JSON read from a
    /// store is equal in value but may differ in member order (or hold members the model
    /// drops); the first change then builds the JSON in full.
    private var stateJSONIsBuilt = false
    /// The state's size as the limits count it, kept with `stateJSON`.
    private var stateSize: StateSize
    private var version: UInt64
    private var recent: RecentEvents
    /// The oldest version whose successors the store keeps (the file store compacts older ones).
    private var oldestStoredVersion: UInt64 = 0
    private var fullMessages = FullMessageCache()
    private var sessions: [SessionID: EngineSession] = [:]
    private var availability: Availability
    /// When the document last had work, and whether an idle check is already scheduled.
    private var lastActivity = ContinuousClock.now
    private var idleCheckScheduled = false
    /// Asks the engine to unload this document; true when it did (see `retireIfIdle`).
    private let unload: @Sendable (DocumentActor<Model>) -> Bool
    private var outcomes = ActionOutcomes()
    private var roster = PresenceRoster()

    init(
        name: DocumentName, content: Content, context: DocumentContext,
        unload: @escaping @Sendable (DocumentActor<Model>) -> Bool
    ) {
        self.name = name
        self.context = context
        self.store = context.store
        self.unload = unload
        switch content {
        case .loaded(let state, let loaded):
            self.state = state
            self.stateJSON = loaded.state
            self.version = loaded.version
            self.availability = .loaded
            self.oldestStoredVersion = loaded.oldestVersion
            outcomes.recordLogged(loaded.recentEvents)
        case .stored(let version):
            // Placeholders until `load()` reads the store.
            self.state = Model.initialState
            self.stateJSON = context.initialState
            self.version = version
            self.availability = .pending
        }
        self.stateSize = StateSize(of: stateJSON)
        self.publishedVersion = Atomic(version)
        self.recent = RecentEvents(
            latestVersion: version, maximumCount: context.retainedEvents, maximumBytes: context.retainedEventBytes)
        if case .loaded(_, let loaded) = content { self.recent.seed(with: loaded.recentEvents) }
    }

    /// Queues work; starts the drain task when none is running. Never blocks. Returns false,
    /// queuing nothing, once the document is unloaded.
    @discardableResult
    nonisolated func enqueue(_ work: DocumentWork) -> Bool {
        let startDrain = mailbox.withLock { mailbox -> Bool? in
            guard !mailbox.isRetired else { return nil }
            mailbox.items.append(work)
            guard !mailbox.isDraining else { return false }
            mailbox.isDraining = true
            return true
        }
        guard let startDrain else { return false }
        if startDrain {
            Task { await self.drain() }
        }
        return true
    }

    /// Marks the document unloaded if no work is queued. Called by the engine under its
    /// registry lock, after it checked that no session is routed here.
    nonisolated func retireIfIdle() -> Bool {
        mailbox.withLock { mailbox in
            guard mailbox.items.isEmpty else { return false }
            mailbox.isRetired = true
            return true
        }
    }

    private func drain() async {
        if case .pending = availability { await load() }
        while true {
            let items = mailbox.withLock { mailbox in
                let items = mailbox.items
                mailbox.items = []
                if items.isEmpty { mailbox.isDraining = false }
                return items
            }
            if items.isEmpty { return }

            if case .failed(let error) = availability {
                refuseAll(items, error)
                if await unloadIfIdle(now: true) { return }
                continue
            }
            var batch = Batch()
            for item in items {
                switch item {
                case .catchUp, .unloadIfIdle: break
                default: lastActivity = .now
                }
                switch item {
                case .message(let session, let message):
                    batch.messages.append((session, message))
                    apply(message, from: session, into: &batch)
                    // A long backlog commits in chunks: bounded Ack latency, and the await
                    // lets other documents use the cooperative thread.
                    if batch.outputs.count >= Self.maximumBatchOutputs { await commit(&batch) }
                case .refusal(let session, let message, let refusal):
                    let id = ClientMessageParser.id(of: message)
                    reject(session, id: id, ActionRejected(refusal.code, refusal.message), into: &batch)
                    if let close = refusal.close {
                        batch.outputs.append(.close(session, close.code, reason: close.reason))
                    }
                case .disconnect(let session):
                    if sessions.removeValue(forKey: session) != nil { context.metrics.recordSessions(-1) }
                    if roster.leave(session) {
                        batch.outputs.append(.toPresent(ServerMessage.presenceLeave(session), except: session))
                    }
                case .connect(let session, let since, let link):
                    await commit(&batch)
                    await attach(session, since: since, link: link)
                case .catchUp:
                    await commit(&batch)
                    await catchUp()
                case .inbox(let entry):
                    await commit(&batch)
                    await apply(entry)
                case .read(let reply):
                    await commit(&batch)
                    reply(.success(DocumentState(version: version, state: stateJSON)))
                case .readVersion(let target, let reply):
                    await commit(&batch)
                    reply(await rebuild(at: target).map { DocumentState(version: target, state: $0.state) })
                case .history(let since, let limit, let reply):
                    await commit(&batch)
                    reply(await history(since: since, limit: limit))
                case .revert(let target, let reply):
                    await commit(&batch)
                    reply(await revert(to: target))
                case .close(let reply):
                    await commit(&batch)
                    await closeInStore()
                    reply()
                case .unloadIfIdle:
                    idleCheckScheduled = false
                }
            }
            await commit(&batch)
            // A document nobody changed has nothing in the store to come back from: unload it at once.
            if sessions.isEmpty, await unloadIfIdle(now: version == 0) { return }
        }
    }

    // MARK: Loading and unloading

    /// Reads the document from the store on its thread, as start-up does.
    private func load() async {
        switch await readFromStore() {
        case .success(let loaded):
            // Nothing in the store: a new document.
            let (document, state) =
                loaded
                ?? (
                    StoredDocument(
                        name: name, version: 0, schema: Model.schemaVersion, state: context.initialState,
                        oldestVersion: 0, recentEvents: []),
                    Model.initialState
                )
            take(document, state: state)
            availability = .loaded
            context.logger.debug("Loaded document", metadata: ["document": "\(name)", "version": "\(version)"])
        case .failure(let error):
            context.logger.error("Cannot load the document", metadata: ["document": "\(name)", "error": "\(error)"])
            availability = .failed(
                SyncEngineError(error.kind, "cannot load document \"\(name)\": \(error.message)"))
        }
    }

    /// The document as the store has it now with its model state, nil if the store has no change of it.
    private func readFromStore() async -> Result<(StoredDocument, Model.State)?, SyncEngineError> {
        let (store, name) = (self.store, self.name)
        switch await store.thread.run({ () throws(StorageError) in try store.load(name) }) {
        case .success(nil):
            return .success(nil)
        case .success(let loaded?):
            do {
                return .success((loaded, try JSONValueDecoder().decode(Model.State.self, from: loaded.state)))
            } catch {
                return .failure(SyncEngineError(.corruptData, "the state is not a valid \(Model.self): \(error)"))
            }
        case .failure(let error):
            return .failure(
                SyncEngineError(error.engineErrorKind, error.description))
        }
    }

    /// Takes the store's copy of the document as the current state.
    private func take(_ loaded: StoredDocument, state: Model.State) {
        self.state = state
        stateIsCurrent = true
        stateJSON = loaded.state
        stateJSONIsBuilt = false
        stateSize = StateSize(of: loaded.state)
        version = loaded.version
        oldestStoredVersion = loaded.oldestVersion
        recent.reset(to: loaded.version)
        recent.seed(with: loaded.recentEvents)
        outcomes.recordLogged(loaded.recentEvents)
        fullMessages.removeAll()
        publishedVersion.store(version, ordering: .releasing)
    }

    /// Answers the work of a document that could not be loaded with `error`. Inbox entries stay
    /// pending in the store, offered again by its next sweep.
    private func refuseAll(_ items: [DocumentWork], _ error: SyncEngineError) {
        for item in items {
            switch item {
            case .connect(_, _, let link):
                _ = link.send(
                    ServerMessage.error(id: nil, code: .storageUnavailable, message: error.message))
                link.output.close(.tryAgainLater, reason: "document cannot be loaded")
            case .read(let reply): reply(.failure(error))
            case .readVersion(_, let reply): reply(.failure(error))
            case .history(_, _, let reply): reply(.failure(error))
            case .revert(_, let reply): reply(.failure(error))
            case .close(let reply): reply()
            case .message, .refusal, .disconnect, .catchUp, .inbox, .unloadIfIdle: break
            }
        }
    }

    /// With no sessions: unloads the document if `now`, or if it has had no work for
    /// `idleUnloadDelay`; otherwise makes sure a later check is scheduled. True once unloaded.
    private func unloadIfIdle(now: Bool) async -> Bool {
        let delay = context.idleUnloadDelay
        if now || ContinuousClock.now - lastActivity >= delay {
            guard unload(self) else { return false }
            await closeInStore()
            context.logger.debug("Unloaded document", metadata: ["document": "\(name)"])
            return true
        }
        if !idleCheckScheduled {
            idleCheckScheduled = true
            let wait = delay - (ContinuousClock.now - lastActivity)
            Task { [weak self] in
                try? await Task.sleep(for: wait)
                self?.enqueue(.unloadIfIdle)
            }
        }
        return false
    }

    private func closeInStore() async {
        let (store, name) = (self.store, self.name)
        await store.thread.perform { store.close(name) }
    }

    // MARK: Changes from elsewhere

    /// Applies the events other writers committed after `version`, broadcasting each like a local change.
    private func catchUp() async {
        let (store, name) = (self.store, self.name)
        while true {
            let after = version
            let result = await store.thread.run { () throws(StorageError) in
                try store.events(of: name, after: after, limit: Self.catchUpChunk)
            }
            guard case .success(let stored) = result else {
                if case .failure(let error) = result {
                    context.logger.debug(
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
            for event in stored.events {
                let before = stateJSON
                guard event.version == version + 1, (try? event.ops.applyInPlace(to: &stateJSON)) != nil,
                    let message = try? ServerMessage.patch(event.ops, version: event.version)
                else {
                    stateJSON = before
                    context.logger.warning(
                        "Events from the store do not follow this instance's state; reloading the document",
                        metadata: ["document": "\(name)", "version": "\(version)", "event": "\(event.version)"])
                    await reloadAfterGap()
                    return
                }
                stateSize = stateSize.updated(by: event.ops, from: before, to: stateJSON).size
                version = event.version
                stateJSONIsBuilt = false
                stateIsCurrent = false
                recent.append(event, size: Self.size(of: event), patch: message)
                // Another instance's action: a resend of it here gets its outcome, not a second apply.
                outcomes.recordLogged(CollectionOfOne(event))
                context.metrics.recordBroadcast()
                for link in sessions.values where link.send(message) {
                    sent += 1
                    bytes += message.count
                }
            }
            fullMessages.removeAll()
            publishedVersion.store(version, ordering: .releasing)
            context.metrics.recordSent(messages: sent, bytes: bytes)
            if stored.events.count < Self.catchUpChunk { return }
        }
    }

    /// Reads the document again and sends every session a Full. If the store cannot answer,
    /// the document stays as it is: the next catch-up finds the gap again.
    private func reloadAfterGap() async {
        switch await readFromStore() {
        case .success(let loaded?):
            take(loaded.0, state: loaded.1)
            for link in sessions.values { sendFull(to: link) }
        case .success(nil):
            break
        case .failure(let error):
            context.logger.error(
                "Cannot reload the document; it catches up again later",
                metadata: ["document": "\(name)", "error": "\(error)"])
        }
    }

    // MARK: Sessions

    /// Sends nothing encoded for this session alone when it can: joins at one version share one
    /// Full per role, resumes the Patches kept for the events in memory. Only a resume from
    /// further back than memory reaches encodes Patches of events read from the store.
    private func attach(_ session: SessionID, since: UInt64?, link: EngineSession) async {
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
    private static func patches(of events: [DocumentEvent]) -> [OutboundMessage]? {
        var messages: [OutboundMessage] = []
        for event in events {
            guard let message = try? ServerMessage.patch(event.ops, version: event.version) else { return nil }
            messages.append(message)
        }
        return messages
    }

    private func resume(_ link: EngineSession, with messages: [OutboundMessage]) {
        var sent = 0
        var bytes = 0
        for message in messages where link.send(message) {
            sent += 1
            bytes += message.count
        }
        context.metrics.recordSent(messages: sent, bytes: bytes)
    }

    private func sendFull(to link: EngineSession) {
        do {
            let full = try fullMessages.message(for: link.role, at: version, state: stateJSON, of: Model.self)
            if link.send(full) { context.metrics.recordSent(messages: 1, bytes: full.count) }
        } catch {
            context.logger.error(
                "Cannot encode the state for a new session",
                metadata: ["document": "\(name)", "error": "\(error)"])
            link.output.close(.tryAgainLater, reason: "state cannot be encoded")
        }
    }

    /// A page of events after `since`: from memory when it reaches back that far, else from the store.
    private func history(since: UInt64, limit: Int) async -> Result<HistoryPage, SyncEngineError> {
        let limit = max(0, limit)
        if let events = recent.events(after: since) {
            return .success(
                HistoryPage(
                    events: Array(events.prefix(limit)), oldestVersion: oldestStoredVersion + 1,
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

    private func storedEvents(after since: UInt64, limit: Int) async -> Result<StoredEvents, StorageError> {
        let (store, name) = (self.store, self.name)
        let result = await store.thread.run { () throws(StorageError) in
            try store.events(of: name, after: since, limit: limit)
        }
        if case .failure(let error) = result {
            context.logger.warning(
                "Cannot read past events from the store", metadata: ["document": "\(name)", "error": "\(error)"])
        }
        return result
    }

    // MARK: Actions

    private func apply(_ message: IncomingMessage, from session: SessionID, into batch: inout Batch) {
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
        let key = link.client.flatMap { client in envelope.id.map { ActionOutcomes.Key(client: client, id: $0) } }
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
            client: link.client, id: envelope.id, digest: digest, name: roster.member(session)?.name)
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
    private struct Change {
        let version: UInt64
        let isLogged: Bool
    }

    /// Checks the role, decodes the action and applies it.
    private func perform(_ envelope: ClientEnvelope, source: ActionSource, link: EngineSession, into batch: inout Batch)
        -> Result<Change, ActionRejected>
    {
        guard link.role == .editor else {
            return .failure(ActionRejected(.forbidden, "this session is a watcher and may not send actions"))
        }
        guard ensureStateIsCurrent() else {
            return .failure(ActionRejected(.internalError, "the document's state cannot be decoded"))
        }
        if Model.acceptsRawPatches, envelope.type == "Patch" {
            return applyRawPatch(envelope, source: source, into: &batch)
        }
        let decoded: DecodedAction<Model.Action>
        do throws(MessageRejection) {
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
    private func apply(_ entry: InboxEntry) async {
        while ensureStateIsCurrent() {
            let decoded: DecodedAction<Model.Action>
            do throws(MessageRejection) {
                let envelope = try ClientMessageParser.envelope(.text(entry.action), limits: context.limits)
                decoded = try ClientMessageParser.action(envelope, as: Model.Action.self)
            } catch {
                return await reject(entry, code: error.code, message: error.message)
            }
            do {
                try Model.reduce(&state, decoded.action)
            } catch {
                return await reject(entry, code: error.code, message: error.message)
            }
            var batch = Batch()
            batch.inboxEntry = entry
            do {
                _ = try stage(after: decoded.action, actionJSON: decoded.json, source: nil, into: &batch)
            } catch {
                resetState(to: stateJSON)
                return await reject(entry, code: error.code, message: error.message)
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

    private func reject(_ entry: InboxEntry, code: SyncErrorCode, message: String) async {
        context.metrics.recordRejected(code)
        let (store, version) = (self.store, self.version)
        let result = await store.thread.run { () throws(StorageError) in
            try store.rejectInboxEntry(entry, code: code, message: message, at: version)
        }
        if case .failure(let error) = result {
            context.logger.warning(
                "Cannot record the refusal of an inbox entry; it stays pending",
                metadata: ["document": "\(name)", "entry": "\(entry.id)", "error": "\(error)"])
        }
    }

    /// Decodes `state` from `stateJSON` after changes from elsewhere; false if it cannot be.
    private func ensureStateIsCurrent() -> Bool {
        guard !stateIsCurrent else { return true }
        resetState(to: stateJSON)
        return stateIsCurrent
    }

    /// Hello and Focus: the sender gets the roster after a Hello, the others hear of the change.
    /// Acknowledged like an action when they carry an `id`.
    private func updatePresence(
        _ request: PresenceRequest, from session: SessionID, link: EngineSession, id: JSONValue?, into batch: inout Batch
    ) {
        let now = WallClock.milliseconds()
        switch request {
        case .hello(let name):
            let member = roster.hello(
                session, name: name, client: link.client, since: link.since, role: link.role, now: now)
            batch.outputs.append(.reply(session, ServerMessage.presence(roster.members)))
            batch.outputs.append(.toPresent(ServerMessage.presenceJoin(member), except: session))
        case .focus(let focus):
            switch roster.focus(session, on: focus, now: now) {
            case .changed:
                batch.outputs.append(.toPresent(ServerMessage.presenceFocus(session, focus: focus), except: session))
            case .notPresent:
                reject(session, id: id, ActionRejected(.invalidAction, "send Hello before Focus"), into: &batch)
                return
            case .tooFast:
                let rejection = ActionRejected(
                    .rateLimited, "more than \(FocusBudget.perSecond) Focus messages per second; this one is dropped")
                reject(session, id: id, rejection, into: &batch)
                return
            }
        }
        if let id { batch.outputs.append(.reply(session, ServerMessage.ack(id: id, version: version))) }
    }

    /// A raw JSON Patch, rebased onto what changed after its `base` and checked against the model.
    private func applyRawPatch(_ envelope: ClientEnvelope, source: ActionSource, into batch: inout Batch)
        -> Result<Change, ActionRejected>
    {
        let before = version
        let request: RawPatch
        let validated: (state: Model.State, json: JSONValue)
        do throws(ActionRejected) {
            request = try RawPatch(envelope)
            if let base = request.base, base != version {
                guard base < version else {
                    throw ActionRejected(
                        .invalidPatch, "base: version \(base) is newer than the current version \(version)")
                }
                guard let changes = changes(after: base, pending: batch) else {
                    throw ActionRejected(
                        .conflict,
                        "base: version \(base) is older than the events kept in memory, which start after version "
                            + "\(recent.oldestVersion); read the state again", version: version)
                }
                if let path = request.firstConflict(with: changes, in: stateJSON) {
                    throw ActionRejected(.conflict, "\(path) changed after version \(base)", version: version)
                }
            }
            let result: JSONValue
            do {
                result = try request.patch.apply(to: stateJSON)
            } catch {
                throw ActionRejected(error.kind == .testFailed ? .testFailed : .invalidPatch, "\(error)")
            }
            validated = try Model.validatedState(from: result)
        } catch {
            return .failure(error)
        }
        state = validated.state
        do {
            let after = try stage(json: validated.json, actionJSON: request.actionJSON, source: source, into: &batch)
            return .success(Change(version: after, isLogged: after != before))
        } catch {
            resetState(to: stateJSON)
            return .failure(error)
        }
    }

    /// The patches applied after `base`, committed or in `batch`; nil when the events kept in
    /// memory do not reach back to `base`.
    private func changes(after base: UInt64, pending batch: Batch) -> [JSONPatch]? {
        let pending = batch.events.lazy.filter { $0.version > base }.map(\.ops)
        if base >= recent.latestVersion { return Array(pending) }
        guard let committed = recent.events(after: base) else { return nil }
        return committed.map(\.ops) + pending
    }

    @discardableResult
    private func reject(_ session: SessionID, id: JSONValue?, _ rejection: ActionRejected, into batch: inout Batch)
        -> OutboundMessage
    {
        context.metrics.recordRejected(rejection.code)
        let reply = ServerMessage.error(
            id: id, code: rejection.code, message: rejection.message, version: rejection.version)
        batch.outputs.append(.reply(session, reply))
        return reply
    }

    /// Brings `stateJSON` up to `state`, just changed by `action` (nil for a revert). When the
    /// JSON differs, adds the event (recording `source`), its log line and its Patch to the batch.
    /// Returns the version after the change. On a throw, `state` is ahead of `stateJSON`: see `resetState(to:)`.
    ///
    /// `action` lets the model derive the new JSON from the current one.
    private func stage(
        after action: Model.Action?, actionJSON: JSONValue, source: ActionSource?, into batch: inout Batch
    ) throws(ActionRejected) -> UInt64 {
        let newJSON: JSONValue
        do {
            if let action, stateJSONIsBuilt {
                newJSON = try Model.jsonValue(of: state, updating: stateJSON, after: action)
                assert(
                    Self.isFullBuild(newJSON, of: state),
                    "\(Model.self).jsonValue(of:updating:after:) differs from jsonValue(of:) after \(action)")
            } else {
                newJSON = try Model.jsonValue(of: state)
            }
        } catch {
            throw ActionRejected(.internalError, "the new state cannot be encoded: \(error)")
        }
        return try stage(json: newJSON, actionJSON: actionJSON, source: source, into: &batch)
    }

    /// As `stage(after:...)`, with `newJSON` the JSON the model builds for `state`.
    private func stage(json newJSON: JSONValue, actionJSON: JSONValue, source: ActionSource?, into batch: inout Batch)
        throws(ActionRejected) -> UInt64
    {
        let patch: JSONPatch
        do {
            patch = try JSONPatch.diff(from: stateJSON, to: newJSON)
        } catch {
            throw ActionRejected(.internalError, "the change cannot be diffed: \(error)")
        }
        if patch.isEmpty {
            // Equal in value, but `state` has changed in place: keep the JSON the model built for it.
            stateJSON = newJSON
            stateJSONIsBuilt = true
            return version
        }
        let (newSize, grown) = stateSize.updated(by: patch, from: stateJSON, to: newJSON)
        try checkLimits(newSize, grown: grown)

        let event = DocumentEvent(
            version: version + 1, time: WallClock.milliseconds(), schema: Model.schemaVersion, client: source?.client,
            actionID: source?.id, digest: source?.digest, name: source?.name, action: actionJSON, ops: patch)
        let encoded: [UInt8]
        let message: OutboundMessage
        do {
            encoded = try event.encodedLine()
            message = try ServerMessage.patch(patch, version: event.version)
        } catch {
            throw ActionRejected(.internalError, "the change cannot be encoded: \(error)")
        }
        if batch.rollback == nil { batch.rollback = (stateJSON, stateJSONIsBuilt, stateSize, version) }
        stateJSON = newJSON
        stateSize = newSize
        stateJSONIsBuilt = true
        version = event.version
        batch.events.append(event)
        batch.encodedEvents.append(encoded)
        batch.patches.append(message)
        batch.outputs.append(.broadcast(message))
        return version
    }

    /// Refuses a change that makes the document larger than `DocumentLimits` allow. A document
    /// already over a limit (written under a larger one) may still shrink.
    private func checkLimits(_ newSize: StateSize, grown: Int) throws(ActionRejected) {
        let limits = context.limits
        if newSize.bytes > limits.maximumDocumentBytes && newSize.bytes > stateSize.bytes {
            throw ActionRejected(
                .documentTooLarge,
                "the document would grow to about \(newSize.bytes) bytes, over the limit of \(limits.maximumDocumentBytes)")
        }
        if grown > limits.maximumMembers {
            throw ActionRejected(
                .tooManyMembers,
                "an object or array of the document (such as the list's rows) would hold \(grown) members, over the limit of \(limits.maximumMembers)")
        }
    }

    /// Makes `state` the model state of `json` again after a change to it was not kept, by
    /// decoding, as start-up does. Costs a decode of the whole document, but only on failures.
    private func resetState(to json: JSONValue) {
        do {
            state = try JSONValueDecoder().decode(Model.State.self, from: json)
            stateIsCurrent = true
        } catch {
            stateIsCurrent = false
            // Cannot happen for a model that decodes its own JSON (start-up relies on it). If it
            // does, the next change is diffed against the JSON in full, so that clients and log
            // still agree with the state.
            stateJSONIsBuilt = false
            context.logger.error(
                "Cannot decode the document's JSON back into its state",
                metadata: ["document": "\(name)", "error": "\(error)"])
        }
    }

    /// Whether `json` is byte for byte what `jsonValue(of:)` gives for `state`: the model's
    /// contract for deriving JSON, checked in debug builds.
    private static func isFullBuild(_ json: JSONValue, of state: Model.State) -> Bool {
        guard let full = try? Model.jsonValue(of: state) else { return false }
        return (try? JSONCodec.encode(json)) == (try? JSONCodec.encode(full))
    }

    /// Makes the batch's events durable with one store append, then sends its outputs in order.
    /// If the write fails, the state returns to the last durable one, and every accepted action of
    /// the batch gets `storage_unavailable` instead of its Patch and Ack. If another writer got
    /// there first, its events are applied and the batch's messages reduced again on top of them.
    @discardableResult
    private func commit(_ batch: inout Batch) async -> CommitOutcome {
        // Outcomes of actions still in memory stay: a restart would read them again from the store.
        outcomes.expire(now: WallClock.milliseconds(), retainedAfter: recent.oldestVersion)
        while true {
            let pending = batch
            batch = Batch()
            guard !pending.events.isEmpty || pending.inboxEntry != nil else {
                send(pending.outputs, writeFailed: false)
                return .committed
            }
            let store = self.store
            let commit = StoreCommit(
                name: name, startVersion: pending.rollback?.version ?? version, events: pending.events,
                encodedEvents: pending.encodedEvents, state: stateJSON, inboxEntry: pending.inboxEntry)
            switch await store.thread.run({ () throws(StorageError) in try store.append(commit) }) {
            case .success(.committed(let duration)):
                context.metrics.recordSync(duration: duration)
                for index in pending.events.indices {
                    recent.append(
                        pending.events[index], size: pending.encodedEvents[index].count, patch: pending.patches[index])
                }
                fullMessages.removeAll()
                publishedVersion.store(version, ordering: .releasing)
                send(pending.outputs, writeFailed: false)
                let name = self.name
                if case .success(let oldest?) = await store.thread.run({ () -> UInt64? in store.maintain(name) }) {
                    oldestStoredVersion = oldest
                }
                return .committed
            case .success(.inboxEntryTaken):
                rollBack(pending)
                await catchUp()
                return .inboxEntryTaken
            case .success(.conflict):
                context.metrics.recordConflict()
                rollBack(pending)
                await catchUp()
                guard !pending.messages.isEmpty else { return .superseded }
                batch.messages = pending.messages
                for (session, message) in pending.messages { apply(message, from: session, into: &batch) }
            case .failure(let error):
                context.logger.error(
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

    private func rollBack(_ batch: Batch) {
        outcomes.forget(batch.remembered)
        guard let rollback = batch.rollback else { return }
        stateJSON = rollback.json
        stateJSONIsBuilt = rollback.jsonIsBuilt
        stateSize = rollback.size
        version = rollback.version
        resetState(to: rollback.json)
    }

    private func send(_ outputs: [Output], writeFailed: Bool) {
        guard !outputs.isEmpty else { return }
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
                        message: "the change could not be saved to disk and was not applied; try again later")
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

    // MARK: Revert

    /// The state at `target` and the schema it is written in, from the store's retained history.
    private func rebuild(at target: UInt64) async -> Result<(state: JSONValue, schema: Int), SyncEngineError> {
        guard target <= version else {
            return .failure(
                SyncEngineError(
                    .versionNotAvailable, "version \(target) is newer than the current version \(version)"))
        }
        let rebuilt: (state: JSONValue, schema: Int)
        if target == version {
            rebuilt = (stateJSON, Model.schemaVersion)
        } else {
            let (store, name) = (self.store, self.name)
            switch await store.thread.run({ () throws(StorageError) in try store.state(of: name, at: target) }) {
            case .success(.available(let state, let schema)):
                rebuilt = (state, schema)
            case .success(.unavailable(let oldest, _)):
                return .failure(
                    SyncEngineError(
                        .versionNotAvailable,
                        "version \(target) is older than the retained history, which starts at version \(oldest)"))
            case .failure(let error):
                return .failure(
                    SyncEngineError(
                        error.engineErrorKind, "cannot rebuild version \(target): \(error)"))
            }
        }
        return .success(rebuilt)
    }

    private func revert(to target: UInt64) async -> Result<UInt64, SyncEngineError> {
        var json: JSONValue
        let schema: Int
        switch await rebuild(at: target) {
        case .success(let rebuilt): (json, schema) = rebuilt
        case .failure(let error): return .failure(error)
        }
        var batch = Batch()
        let newVersion: UInt64
        let previousState = state
        do {
            // A state from before a migration is brought to the model's schema first.
            if schema < Model.schemaVersion { json = try Model.migrate(json, from: schema) }
            state = try JSONValueDecoder().decode(Model.State.self, from: json)
            newVersion = try stage(
                after: nil, actionJSON: ["type": "Revert", "version": .integer(Int64(clamping: target))], source: nil,
                into: &batch)
        } catch {
            state = previousState
            return .failure(SyncEngineError(.invalidState, "cannot revert to version \(target): \(error)"))
        }
        stateIsCurrent = true
        switch await commit(&batch) {
        case .failed(let error):
            return .failure(SyncEngineError(.storageUnavailable, "cannot save the revert: \(error)"))
        case .superseded, .inboxEntryTaken:
            // Another writer got there first: the revert is built again on the newer state.
            return await revert(to: target)
        case .committed:
            return .success(newVersion)
        }
    }

    /// What an event weighs in memory: its encoded size.
    private static func size(of event: DocumentEvent) -> Int {
        (try? event.encodedLine().count) ?? 0
    }
}
