import JSONCodec
import JSONPatch
import JSONValueCoding
import Logging
import Synchronization

/// One document: its state, sessions and log. Work is queued in a mailbox and drained by a
/// single task, so actions apply strictly in arrival order, and joins, reads and reverts see
/// only durable state.
///
/// Group commit: the drain takes everything queued at once, applies the actions, writes all
/// their log lines with one fsync, and only then broadcasts the Patches and sends the Acks.
/// Sessions are owned by the actor and no lock is held while calling a `TransportSession`.
///
/// Lifecycle: a document created for a name on disk loads its files on the storage thread
/// before its first work. Once it has no sessions, it asks the engine to unload it: at once if
/// nothing is on disk, after `idleUnloadDelay` without work otherwise. Unloaded, it takes no
/// more work (`enqueue` returns false) and the engine makes a new actor on demand.
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
        case loaded(Model.State, LoadedDocument)
        /// On disk at this version, read on first use.
        case stored(version: UInt64)
    }

    /// Whether the content is in memory.
    private enum Availability {
        case loaded
        case pending
        /// The files could not be read back: every request gets this error until unloaded.
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

    /// Changes applied in memory but not yet on disk.
    private struct Batch {
        var events: [DocumentEvent] = []
        /// The Patch broadcast for each of `events`.
        var patches: [OutboundMessage] = []
        var lines: [UInt8] = []
        var outputs: [Output] = []
        /// The durable state to return to if the write fails. Only its JSON is kept: holding the
        /// model state too would make the first action of every batch copy all of it.
        var rollback: (json: JSONValue, jsonIsBuilt: Bool, size: StateSize, version: UInt64)?
        /// Outcomes remembered for this batch's actions, forgotten again if the write fails.
        var remembered: [ActionOutcomes.Key] = []
    }

    /// Replies and broadcasts after which a batch is committed even if more work is queued.
    private static var maximumBatchOutputs: Int { 1024 }

    nonisolated let name: DocumentName
    /// The durable version, readable without waiting for the actor.
    nonisolated let publishedVersion: Atomic<UInt64>
    private nonisolated let mailbox = Mutex(Mailbox())

    private let context: DocumentContext
    private let log: DocumentLog
    private var state: Model.State
    private var stateJSON: JSONValue
    /// Whether `stateJSON` is exactly what the model builds for `state`, member order included,
    /// so that the model may derive the next JSON from it. Not after start-up: JSON replayed
    /// from the log is equal in value but may differ in member order (or hold members the model
    /// drops); the first change then builds the JSON in full.
    private var stateJSONIsBuilt = false
    /// The state's size as the limits count it, kept with `stateJSON`.
    private var stateSize: StateSize
    private var version: UInt64
    private var history: DocumentHistory
    /// The Patch of retained events by version, as broadcast (or encoded for a resume after a
    /// restart), so that resuming sessions share the bytes. Trimmed with the history.
    private var patchMessages: [UInt64: OutboundMessage] = [:]
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
        self.unload = unload
        switch content {
        case .loaded(let state, let loaded):
            self.state = state
            self.stateJSON = loaded.state
            self.history = loaded.history
            self.version = loaded.history.latestVersion
            self.availability = .loaded
            outcomes.recordLogged(loaded.history.events)
        case .stored(let version):
            // Placeholders until `load()` reads the files.
            self.state = Model.initialState
            self.stateJSON = context.initialState
            self.history = DocumentHistory(
                baseVersion: 0, baseSchema: Model.schemaVersion, baseState: context.initialState)
            self.version = version
            self.availability = .pending
        }
        self.stateSize = StateSize(of: stateJSON)
        self.publishedVersion = Atomic(version)
        self.log = DocumentLog(
            files: DocumentFiles(dataDirectory: context.dataDirectory, name: name),
            dataDirectory: context.dataDirectory, io: context.storage, metrics: context.metrics)
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
                if case .unloadIfIdle = item {} else { lastActivity = .now }
                switch item {
                case .message(let session, let message):
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
                    attach(session, since: since, link: link)
                case .read(let reply):
                    await commit(&batch)
                    reply(.success(DocumentState(version: version, state: stateJSON)))
                case .readVersion(let target, let reply):
                    await commit(&batch)
                    reply(rebuild(at: target).map { DocumentState(version: target, state: $0) })
                case .history(let since, let limit, let reply):
                    await commit(&batch)
                    let events = history.events.lazy.filter { $0.version > since }.prefix(max(0, limit))
                    reply(
                        .success(
                            HistoryPage(
                                events: Array(events), oldestVersion: history.baseVersion + 1,
                                isTruncated: since < history.baseVersion)))
                case .revert(let target, let reply):
                    await commit(&batch)
                    reply(await revert(to: target))
                case .close(let reply):
                    await commit(&batch)
                    await closeLog()
                    reply()
                case .unloadIfIdle:
                    idleCheckScheduled = false
                }
            }
            await commit(&batch)
            // A document nobody changed has nothing on disk to come back from: unload it at once.
            if sessions.isEmpty, await unloadIfIdle(now: version == 0) { return }
        }
    }

    // MARK: Loading and unloading

    /// Reads the document's files on the storage thread, as start-up does.
    private func load() async {
        let files = DocumentFiles(dataDirectory: context.dataDirectory, name: name)
        let (initialState, storage, logger) = (context.initialState, context.storage, context.logger)
        let result = await context.storageThread.run { () throws(StorageError) in
            try files.load(
                initialState: { schema in schema == Model.schemaVersion ? initialState : try? Model.initialStateJSON(schema: schema) },
                maximumSchema: Model.schemaVersion, io: storage, repairTornTail: true, logger: logger)
        }
        let loaded: LoadedDocument
        switch result {
        case .success(let document): loaded = document
        case .failure(let error):
            fail(SyncEngineError(error.kind == .corrupt ? .corruptData : .storageUnavailable, error.description))
            return
        }
        do {
            state = try JSONValueDecoder().decode(Model.State.self, from: loaded.state)
        } catch {
            fail(SyncEngineError(.corruptData, "the state is not a valid \(Model.self): \(error)"))
            return
        }
        stateJSON = loaded.state
        stateSize = StateSize(of: loaded.state)
        history = loaded.history
        outcomes.recordLogged(loaded.history.events)
        version = loaded.history.latestVersion
        publishedVersion.store(version, ordering: .releasing)
        availability = .loaded
        context.logger.debug("Loaded document", metadata: ["document": "\(name)", "version": "\(version)"])
    }

    private func fail(_ error: SyncEngineError) {
        context.logger.error("Cannot load the document", metadata: ["document": "\(name)", "error": "\(error)"])
        availability = .failed(SyncEngineError(error.kind, "cannot load document \"\(name)\": \(error.message)"))
    }

    /// Answers the work of a document that could not be loaded with `error`.
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
            case .message, .refusal, .disconnect, .unloadIfIdle: break
            }
        }
    }

    /// With no sessions: unloads the document if `now`, or if it has had no work for
    /// `idleUnloadDelay`; otherwise makes sure a later check is scheduled. True once unloaded.
    private func unloadIfIdle(now: Bool) async -> Bool {
        let delay = context.idleUnloadDelay
        if now || ContinuousClock.now - lastActivity >= delay {
            guard unload(self) else { return false }
            await closeLog()
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

    private func closeLog() async {
        let log = self.log
        _ = await context.storageThread.run { log.close() }
    }

    // MARK: Sessions

    /// Sends nothing encoded for this session alone: joins at one version share one Full per
    /// role, resumes the Patches kept for the retained events.
    private func attach(_ session: SessionID, since: UInt64?, link: EngineSession) {
        sessions[session] = link
        context.metrics.recordSessions(1)
        var sent = 0
        var bytes = 0
        defer { context.metrics.recordSent(messages: sent, bytes: bytes) }

        if let since, let events = history.events(after: since) {
            var messages: [OutboundMessage] = []
            for event in events {
                guard let message = patchMessage(of: event) else { break }
                messages.append(message)
            }
            if messages.count == events.count {
                for message in messages where link.send(message) {
                    sent += 1
                    bytes += message.count
                }
                return
            }
        }
        do {
            let full = try fullMessages.message(for: link.role, at: version, state: stateJSON, of: Model.self)
            if link.send(full) {
                sent += 1
                bytes += full.count
            }
        } catch {
            context.logger.error(
                "Cannot encode the state for a new session",
                metadata: ["document": "\(name)", "error": "\(error)"])
            link.output.close(.tryAgainLater, reason: "state cannot be encoded")
        }
    }

    /// The Patch of a retained event, encoded at most once while the event is retained.
    private func patchMessage(of event: DocumentEvent) -> OutboundMessage? {
        if let message = patchMessages[event.version] { return message }
        guard let message = try? ServerMessage.patch(event.ops, version: event.version) else { return nil }
        patchMessages[event.version] = message
        return message
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
            case .repeated(.accepted(let version)) where version > history.latestVersion:
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
                        "base: version \(base) is older than the retained history, which starts at version "
                            + "\(history.baseVersion); read the state again", version: version)
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

    /// The patches applied after `base`, committed or in `batch`; nil when the retained history
    /// does not reach back to `base`.
    private func changes(after base: UInt64, pending batch: Batch) -> [JSONPatch]? {
        let pending = batch.events.lazy.filter { $0.version > base }.map(\.ops)
        if base >= history.latestVersion { return Array(pending) }
        guard let committed = history.events(after: base) else { return nil }
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
        let line: [UInt8]
        let message: OutboundMessage
        do {
            line = try event.encodedLine()
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
        batch.patches.append(message)
        batch.lines.append(contentsOf: line)
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
        } catch {
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

    /// Writes the batch's events with one fsync, then sends its outputs in order. If the write
    /// fails, the state returns to the last durable one, and every accepted action of the batch
    /// gets `storage_unavailable` instead of its Patch and Ack.
    @discardableResult
    private func commit(_ batch: inout Batch) async -> StorageError? {
        let pending = batch
        batch = Batch()
        var failure: StorageError?
        if !pending.events.isEmpty {
            let log = self.log
            let lines = pending.lines
            let result = await context.storageThread.run { () throws(StorageError) in try log.append(lines) }
            switch result {
            case .success:
                history.append(pending.events)
                for (event, patch) in zip(pending.events, pending.patches) { patchMessages[event.version] = patch }
                fullMessages.removeAll()
                publishedVersion.store(version, ordering: .releasing)
            case .failure(let error):
                failure = error
                context.logger.error(
                    "Cannot write to the event log; the batch is refused and the state rolled back",
                    metadata: [
                        "document": "\(name)", "error": "\(error)", "events": "\(pending.events.count)",
                    ])
                outcomes.forget(pending.remembered)
                if let rollback = pending.rollback {
                    stateJSON = rollback.json
                    stateJSONIsBuilt = rollback.jsonIsBuilt
                    stateSize = rollback.size
                    version = rollback.version
                    resetState(to: rollback.json)
                }
            }
        }
        send(pending.outputs, writeFailed: failure != nil)
        outcomes.expire(now: WallClock.milliseconds(), retainedAfter: history.baseVersion)
        if failure == nil && !pending.events.isEmpty { await compactIfDue() }
        return failure
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

    // MARK: Revert and compaction

    /// The state at `target`, from the retained history.
    private func rebuild(at target: UInt64) -> Result<JSONValue, SyncEngineError> {
        guard target <= version else {
            return .failure(
                SyncEngineError(
                    .versionNotAvailable, "version \(target) is newer than the current version \(version)"))
        }
        let json: JSONValue?
        do {
            json = try history.state(at: target)
        } catch {
            return .failure(SyncEngineError(.corruptData, "cannot rebuild version \(target): \(error)"))
        }
        guard let json else {
            return .failure(
                SyncEngineError(
                    .versionNotAvailable,
                    "version \(target) is older than the retained history, which starts at version \(history.baseVersion)"
                ))
        }
        return .success(json)
    }

    private func revert(to target: UInt64) async -> Result<UInt64, SyncEngineError> {
        var json: JSONValue
        switch rebuild(at: target) {
        case .success(let rebuilt): json = rebuilt
        case .failure(let error): return .failure(error)
        }
        var batch = Batch()
        let newVersion: UInt64
        let previousState = state
        do {
            // A state from before a migration is brought to the model's schema first.
            let schema = history.schema(at: target)
            if schema < Model.schemaVersion { json = try Model.migrate(json, from: schema) }
            state = try JSONValueDecoder().decode(Model.State.self, from: json)
            newVersion = try stage(
                after: nil, actionJSON: ["type": "Revert", "version": .integer(Int64(clamping: target))], source: nil,
                into: &batch)
        } catch {
            state = previousState
            return .failure(SyncEngineError(.invalidState, "cannot revert to version \(target): \(error)"))
        }
        if let error = await commit(&batch) {
            return .failure(SyncEngineError(.storageUnavailable, "cannot save the revert: \(error)"))
        }
        return .success(newVersion)
    }

    /// Applies the retention policy (see `SyncEngine.Configuration`): snapshot the state before the
    /// newest `retainedEvents` events and cut the log down to those.
    private func compactIfDue() async {
        let excess = history.events.count - context.retainedEvents
        guard history.events.count >= context.retainedEvents + context.snapshotInterval, excess > 0 else { return }
        let snapshot: [UInt8]
        let remainingLog: [UInt8]
        var base = history.baseState
        do {
            for event in history.events[..<excess] { try event.ops.applyInPlace(to: &base) }
            snapshot = try DocumentFiles.encodeSnapshot(
                version: history.events[excess - 1].version, schema: history.events[excess - 1].schema, state: base)
            var lines: [UInt8] = []
            for event in history.events[excess...] { lines.append(contentsOf: try event.encodedLine()) }
            remainingLog = lines
        } catch {
            context.logger.error(
                "Cannot build a snapshot; the log keeps growing",
                metadata: ["document": "\(name)", "error": "\(error)"])
            return
        }
        let log = self.log
        let result = await context.storageThread.run { () throws(StorageError) in
            try log.compact(snapshot: snapshot, remainingLog: remainingLog)
        }
        switch result {
        case .success:
            history.dropFirst(excess, newBaseState: base)
            let baseVersion = history.baseVersion
            patchMessages = patchMessages.filter { $0.key > baseVersion }
            context.logger.debug(
                "Compacted the event log", metadata: ["document": "\(name)", "base": "\(history.baseVersion)"])
        case .failure(let error):
            context.logger.warning(
                "Cannot compact the event log; will retry after the next change",
                metadata: ["document": "\(name)", "error": "\(error)"])
        }
    }
}
