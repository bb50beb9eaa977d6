import JSONPatch
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
    struct Mailbox {
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
        case stored(LatestChange)
    }

    /// Whether the content is in memory.
    enum Availability {
        case loaded
        case pending
        /// The store could not give the document back: every request gets this error until unloaded.
        case failed(SyncEngineError)
    }

    /// One reply or broadcast of a batch, sent in order once the batch is durable.
    enum Output {
        case broadcast(OutboundMessage)
        case reply(SessionID, OutboundMessage)
        /// To every session that said Hello, but `except`.
        case toPresent(OutboundMessage, except: SessionID?)
        /// An accepted action: an Ack (if it had an id) at `version`, or `storage_unavailable` if the write failed.
        /// `isRepeat`: a resend of an action of the same batch, answered but not applied again.
        case outcome(SessionID, id: JSONValue?, version: UInt64, isRepeat: Bool = false)
        /// Closes the session once everything before it is queued.
        case close(SessionID, CloseCode, reason: String)
    }

    /// Changes applied in memory but not yet durable.
    struct Batch {
        var events: [DocumentEvent] = []
        /// The Patch broadcast for each of `events`.
        var patches: [OutboundMessage] = []
        var encodedEvents: [[UInt8]] = []
        var outputs: [Output] = []
        /// The client messages the batch was built from, to reduce again after a conflict.
        var messages: [(SessionID, IncomingMessage)] = []
        /// The inbox entry the batch applies (then it holds nothing else).
        var inboxEntry: InboxEntry?
        /// The durable state to return to if the write fails: `undo`, undone last first, gives
        /// back its JSON. Neither the model state nor (for changes staged in place) the JSON is
        /// kept: holding either would make every action copy all of it.
        var rollback: (undo: [Undo], jsonIsBuilt: Bool, size: StateSize, version: UInt64)?
        /// The members the batch's changes set in place, in order; nil once a change was made
        /// another way. The Full cache follows them (`FullMessageCache.stateChanged`).
        var changedMembers: [MemberChange]? = []
        /// Outcomes remembered for this batch's actions, forgotten again if the write fails.
        var remembered: [ActionKey] = []
    }

    /// What gives back the JSON before one staged change.
    enum Undo {
        /// The whole JSON before the change.
        case json(JSONValue)
        /// The member's value before a change made in place (`value` nil: it was missing), and
        /// where it stood when the change removed it.
        case member(MemberChange, position: Int?)
    }

    /// How a commit ended.
    enum CommitOutcome {
        case committed
        case failed(StorageError)
        /// Another writer got there first and the batch had no messages to reduce again (a revert,
        /// an inbox entry).
        case superseded
        /// The batch's inbox entry was applied by another instance.
        case inboxEntryTaken
    }

    /// Replies and broadcasts after which a batch is committed even if more work is queued.
    static var maximumBatchOutputs: Int { 1024 }
    /// Events read from the store at once when catching up.
    static var catchUpChunk: Int { 1000 }

    nonisolated let name: DocumentName
    /// The model's rules for this document: the engine's own model or a declared type.
    let kind: DocumentKind<Model>
    /// The engine's logger with this document's model in every line.
    let logger: Logger
    /// The durable version, readable without waiting for the actor.
    nonisolated let publishedVersion: Atomic<UInt64>
    /// When the change at `publishedVersion` was made, for the document list (nil: unknown).
    nonisolated let publishedChangeTime: Mutex<Int64?>
    /// The model's title of the published state, for the document list.
    nonisolated let publishedTitle: Mutex<String?>
    private nonisolated let mailbox = Mutex(Mailbox())

    let context: DocumentContext
    let store: any DocumentStore
    var state: Model.State
    /// False when `stateJSON` moved on by events from elsewhere: `state` is decoded from it again
    /// only when an action needs it, so that watching instances never pay for a decode.
    var stateIsCurrent = true
    var stateJSON: JSONValue
    /// Whether `stateJSON` is exactly what the model builds for `state`, member order included,
    /// so that the model may derive the next JSON from it. Not after loading: JSON read from a
    /// store is equal in value but may differ in member order (or hold members the model
    /// drops); the first change then builds the JSON in full.
    var stateJSONIsBuilt = false
    /// Whether `stateJSON` is known to pass the model's check (it did after a raw Patch), so that
    /// the next raw Patch's result may be checked only where the patch changed it.
    var stateIsValidated = false
    /// The state's size as the limits count it, kept with `stateJSON`.
    var stateSize: StateSize
    var version: UInt64
    var recent: RecentEvents
    /// The oldest version whose successors the store keeps (the file store compacts older ones).
    var oldestStoredVersion: UInt64 = 0
    /// Until when batches commit under the document's lock in a shared store (`LockedCommit`):
    /// set when another writer got there first, kept while others keep committing.
    var lockedCommitsUntil: ContinuousClock.Instant?
    var fullMessages = FullMessageCache()
    var sessions: [SessionID: EngineSession] = [:]
    var availability: Availability
    /// When the document last had work, and whether an idle check is already scheduled.
    var lastActivity = ContinuousClock.now
    var idleCheckScheduled = false
    /// Asks the engine to unload this document; true when it did (see `retireIfIdle`).
    let unload: @Sendable (any DocumentHandle) -> Bool
    var outcomes = ActionOutcomes()
    /// The outcome memory's size as last added to the metrics.
    var reportedOutcomes = (count: 0, bytes: 0)
    var roster: PresenceRoster

    /// `remotePresence`: the other instances' sessions on the document when it is created; their
    /// changes arrive as `.remotePresence` work afterwards.
    init(
        name: DocumentName, kind: DocumentKind<Model>, content: Content, context: DocumentContext,
        remotePresence: [PresenceEntry], unload: @escaping @Sendable (any DocumentHandle) -> Bool
    ) {
        self.name = name
        self.kind = kind
        var logger = context.logger
        logger[metadataKey: "model"] = "\(kind.modelName)"
        self.logger = logger
        self.roster = PresenceRoster(remote: remotePresence)
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
            outcomes.recordLoaded(loaded.recentEvents, latestVersion: loaded.version)
            self.publishedChangeTime = Mutex(loaded.latestChange.time)
            self.publishedTitle = Mutex(kind.title(loaded.state))
        case .stored(let latest):
            // Placeholders until `load()` reads the store.
            self.state = kind.initialState
            self.stateJSON = kind.initialJSON
            self.version = latest.version
            self.availability = .pending
            self.publishedChangeTime = Mutex(latest.time)
            self.publishedTitle = Mutex(latest.title)
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

    /// `publishedVersion` with the time of its change.
    nonisolated var publishedChange: LatestChange {
        LatestChange(
            version: publishedVersion.load(ordering: .acquiring), time: publishedChangeTime.withLock { $0 },
            title: publishedTitle.withLock { $0 })
    }

    /// Makes `version` readable without waiting for the actor, with the time of its event
    /// (nil: the events at hand do not say; the time already published stays if the version did not move).
    func publish(changedAt time: Int64?) {
        let moved = publishedVersion.load(ordering: .relaxed) != version
        publishedChangeTime.withLock { published in
            if let time { published = time } else if moved { published = nil }
        }
        let title = kind.title(stateJSON)
        publishedTitle.withLock { $0 = title }
        publishedVersion.store(version, ordering: .releasing)
    }

    /// Sessions do not wait behind the inbox: when work arrived since this round began, the
    /// round's other inbox entries (`entry` and those in `rest`) go after it, the rest of the
    /// round before it. Inbox entries have no order with sessions' work, only among themselves.
    private nonisolated func deferInbox(_ entry: DocumentWork, _ rest: ArraySlice<DocumentWork>) -> Bool {
        mailbox.withLock { mailbox in
            guard !mailbox.items.isEmpty else { return false }
            var inbox = [entry]
            var others: [DocumentWork] = []
            for work in rest {
                if case .inbox = work { inbox.append(work) } else { others.append(work) }
            }
            mailbox.items = others + mailbox.items + inbox
            return true
        }
    }

    /// Takes the sessions waiting to join out of the mailbox, to be served before the work ahead
    /// of them (a long catch-up). A join has no order with other sessions' work, and its own
    /// messages and leave are queued after it, so they stay after it.
    nonisolated func takeQueuedJoins() -> [(session: SessionID, since: UInt64?, link: EngineSession)] {
        mailbox.withLock { mailbox in
            var joins: [(session: SessionID, since: UInt64?, link: EngineSession)] = []
            mailbox.items.removeAll { work in
                guard case .connect(let session, let since, let link) = work else { return false }
                joins.append((session, since, link))
                return true
            }
            return joins
        }
    }

    /// Joins first in a round that holds inbox or catch-up work: a new session gets the state in
    /// memory and then the Patches of that work, instead of waiting for a commit or a round
    /// trip to the store. Nothing else moves.
    static func joinsFirst(_ items: [DocumentWork]) -> [DocumentWork] {
        var joins: [DocumentWork] = []
        var others: [DocumentWork] = []
        var behindStoreWork = false
        for work in items {
            switch work {
            case .inbox, .catchUp:
                behindStoreWork = true
                others.append(work)
            case .connect where behindStoreWork:
                joins.append(work)
            default:
                others.append(work)
            }
        }
        guard !joins.isEmpty else { return items }
        let firstStoreWork = others.firstIndex { work in
            switch work {
            case .inbox, .catchUp: true
            default: false
            }
        } ?? others.endIndex
        others.insert(contentsOf: joins, at: firstStoreWork)
        return others
    }

    /// Whether a `.close` is queued, in this round (`rest`) or after it.
    private nonisolated func isClosing(_ rest: ArraySlice<DocumentWork>) -> Bool {
        let isClose = { (work: DocumentWork) -> Bool in
            if case .close = work { return true } else { return false }
        }
        return rest.contains(where: isClose) || mailbox.withLock { $0.items.contains(where: isClose) }
    }

    func drain() async {
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
            await recallOutcomes(before: items)
            var batch = Batch()
            var remaining = Self.joinsFirst(items)[...]
            var appliedInbox = false
            while let item = remaining.popFirst() {
                // One inbox entry per round at least, so that a busy document still drains its inbox.
                switch item {
                case .inbox, .catchUp:
                    // Closing (shutdown): an inbox entry stays pending for another instance or
                    // the next start, and nothing needs catching up; SIGTERM does not wait for them.
                    if isClosing(remaining) { continue }
                default: break
                }
                if case .inbox = item {
                    if appliedInbox, deferInbox(item, remaining) { break }
                    appliedInbox = true
                }
                switch item {
                case .catchUp, .unloadIfIdle, .remotePresence: break
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
                    leavePresence(session, into: &batch)
                case .remotePresence(let change):
                    applyRemotePresence(change, into: &batch)
                case .connect(let session, let since, let link):
                    await commit(&batch)
                    await attach(session, since: since, link: link)
                case .catchUp(let latest):
                    // Most notices announce this instance's own commits back: those need no round
                    // trip, and the batch under way keeps growing (its committed start version counts).
                    guard (batch.rollback?.version ?? version) < latest else { break }
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
                case .revert(let target, let author, let reply):
                    await commit(&batch)
                    reply(await revert(to: target, author: author))
                case .close(let reply):
                    await commit(&batch)
                    await closeInStore()
                    reply()
                case .unloadIfIdle:
                    idleCheckScheduled = false
                }
            }
            await commit(&batch)
            reportOutcomeMemory()
            // A document nobody changed has nothing in the store to come back from: unload it at once.
            if sessions.isEmpty, await unloadIfIdle(now: version == 0) { return }
        }
    }

    /// Brings the metrics' outcome gauges up to date with this document's memory (to zero once
    /// it is unloaded).
    func reportOutcomeMemory(unloaded: Bool = false) {
        let now = unloaded ? (count: 0, bytes: 0) : (count: outcomes.count, bytes: outcomes.bytes)
        guard now != reportedOutcomes else { return }
        context.metrics.recordActionOutcomes(now.count - reportedOutcomes.count, bytes: now.bytes - reportedOutcomes.bytes)
        reportedOutcomes = now
    }
}
