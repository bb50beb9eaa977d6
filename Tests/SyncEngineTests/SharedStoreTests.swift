import EngineTestSupport
import FileStore
import JSONPatch
import Synchronization
import Testing

@testable import SyncEngine
@testable import TodoModel

/// A store shared with another writer, in memory: what the engine must do when PostgreSQL says
/// someone else committed first, without a database. Like PostgreSQL's unique index, it logs
/// each `(client, id)` once; like its loading, it hands over only the newest `seededEvents`;
/// like its NOTIFY, with `announcesOwnCommits` it tells the engine of its own commits too,
/// before the commit returns (the listener may hear it first).
final class SharedMemoryStore: DocumentStore {
    let capabilities: StoreCapabilities = [.otherWriters, .reportsReachability]
    private let seededEvents: Int
    private let announcesOwnCommits: Bool
    private let repeats = Mutex(0)
    private let reads = Mutex(0)

    init(seededEvents: Int = .max, announcesOwnCommits: Bool = false) {
        self.seededEvents = seededEvents
        self.announcesOwnCommits = announcesOwnCommits
    }

    var repeatsRefused: Int { repeats.withLock { $0 } }
    /// Calls of `events(of:after:limit:)`: the catch-ups that went to the store.
    var eventReads: Int { reads.withLock { $0 } }
    private let events = Mutex<[DocumentEvent]>([])
    private let initialState = Mutex<JSONValue>(.null)
    private let onChange = Mutex<(@Sendable (StoreChange) -> Void)?>(nil)
    private let conflicts = Mutex(0)

    var conflictsSeen: Int { conflicts.withLock { $0 } }
    var versions: [UInt64] { events.withLock { $0.map(\.version) } }

    /// Another instance commits `ops`; `announce` tells the engine as a notification would.
    func commitElsewhere(_ ops: JSONPatch, announce: Bool) {
        let version = events.withLock { events in
            let version = UInt64(events.count + 1)
            events.append(DocumentEvent(version: version, time: 0, action: ["type": "Elsewhere"], ops: ops))
            return version
        }
        if announce { onChange.withLock { $0 }?(.notified(.default, version: version)) }
    }

    /// An action inserted into the inbox, handed to the engine as PostgreSQL's listener does.
    func submitToInbox(_ action: String, id: Int64) {
        onChange.withLock { $0 }?(.inbox([InboxEntry(id: id, document: .default, action: Array(action.utf8))]))
    }

    /// Lists the documents, as PostgreSQL's listener does once it reaches the database.
    func list() {
        let latest = events.withLock { $0.last.map { [DocumentName.default: LatestChange(version: $0.version, time: $0.time)] } }
        onChange.withLock { $0 }?(.versions(latest ?? [:]))
    }

    func start(initialState: JSONValue, schemas: StoreSchemas, onChange: @escaping @Sendable (StoreChange) -> Void) {
        self.initialState.withLock { $0 = initialState }
        self.onChange.withLock { $0 = onChange }
    }

    func loadDocuments() -> [StoredDocument] { [] }

    func load(_ name: DocumentName) throws(StorageError) -> StoredDocument? {
        let events = self.events.withLock { $0 }
        guard let last = events.last else { return nil }
        var state = initialState.withLock { $0 }
        do { try DocumentHistory.replay(events, onto: &state, after: 0) } catch {
            throw StorageError.corrupt(name.rawValue, "\(error)")
        }
        return StoredDocument(
            name: name, version: last.version, schema: TodoList.schemaVersion, state: state, oldestVersion: 0,
            recentEvents: Array(events.suffix(seededEvents)))
    }

    func append(_ commit: StoreCommit) -> AppendResult {
        let result = events.withLock { events -> AppendResult in
            let logged = Set(events.compactMap(ActionKey.init))
            if commit.events.contains(where: { ActionKey($0).map(logged.contains) ?? false }) {
                repeats.withLock { $0 += 1 }
                return .repeatedAction
            }
            guard UInt64(events.count) == commit.startVersion else {
                conflicts.withLock { $0 += 1 }
                return .conflict
            }
            events.append(contentsOf: commit.events)
            return .committed(duration: .zero)
        }
        if announcesOwnCommits, case .committed = result, let last = commit.events.last {
            onChange.withLock { $0 }?(.notified(commit.name, version: last.version))
        }
        return result
    }

    /// Awaited before each read of events, with its number (from 1): a test holds a catch-up there.
    let beforeRead = Mutex<(@Sendable (Int) async -> Void)?>(nil)

    func events(of name: DocumentName, after version: UInt64, limit: Int) async -> StoredEvents {
        let number = reads.withLock { reads in
            reads += 1
            return reads
        }
        if let hook = beforeRead.withLock({ $0 }) { await hook(number) }
        return StoredEvents(events: Array(events.withLock { $0 }.dropFirst(Int(version)).prefix(limit)), oldestVersion: 0)
    }

    func loggedActions(of name: DocumentName, _ keys: [ActionKey]) -> [DocumentEvent] {
        events.withLock { events in events.filter { ActionKey($0).map(keys.contains) ?? false } }
    }

    func state(of name: DocumentName, at version: UInt64) -> StoredState {
        .unavailable(oldestVersion: 0, latestVersion: UInt64(events.withLock { $0.count }))
    }

    private let refusals = Mutex<[Int64: SyncErrorCode]>([:])
    /// The inbox entries refused, by id.
    var refusedEntries: [Int64: SyncErrorCode] { refusals.withLock { $0 } }

    func rejectInboxEntry(_ entry: InboxEntry, code: SyncErrorCode, message: String, at version: UInt64) {
        refusals.withLock { $0[entry.id] = code }
    }
    var unavailableReason: String? { nil }
    func maintain(_ name: DocumentName) -> UInt64? { nil }
    func close(_ name: DocumentName) {}
    func shutdown() {}
}

/// A flag one task raises and another waits for.
final class Flag: Sendable {
    private let raised = Mutex(false)
    var isRaised: Bool { raised.withLock { $0 } }
    func raise() { raised.withLock { $0 = true } }
}

@Suite struct SharedStoreTests {
    private func engine(
        _ store: SharedMemoryStore, limits: DocumentLimits = DocumentLimits(), idle: Duration = .seconds(120),
        lockedCommitPeriod: Duration = .seconds(2)
    ) async throws -> TodoEngine {
        try await TodoEngine(
            configuration: .init(
                store: store, limits: limits, idleUnloadDelay: idle, lockedCommitPeriod: lockedCommitPeriod),
            logger: testLogger)
    }

    /// Checks that what `output`'s session received builds the engine's state at `version`, and
    /// returns that state.
    private func expectFollowed(_ output: CollectingOutput, _ engine: TodoEngine, to version: UInt64) async throws
        -> JSONValue
    {
        var mirror = Mirror()
        try mirror.apply(output.messages)
        let state = try await engine.state(of: .default)
        #expect(mirror.state == state.state && mirror.version == version)
        return state.state
    }

    /// An editor's second action meets a commit made elsewhere (version 2): from then on the
    /// document commits under its lock, for a period no loaded box outlasts.
    private func lockedAfterAConflict(_ store: SharedMemoryStore, limits: DocumentLimits = DocumentLimits())
        async throws -> (TodoEngine, CollectingOutput, SessionID)
    {
        let engine = try await engine(store, limits: limits, lockedCommitPeriod: .seconds(3600))
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        engine.send(#"{"type":"Add","id":1,"row":{"name":"a","completed":false}}"#, from: session)
        try await engine.settle()
        store.commitElsewhere(try renameOp("elsewhere 0"), announce: false)
        engine.send(#"{"type":"Add","id":2,"row":{"name":"b0","completed":false}}"#, from: session)
        try await engine.settle()
        #expect(store.conflictsSeen == 1)
        return (engine, output, session)
    }

    private func renameOp(_ name: String) throws -> JSONPatch {
        try JSONPatch(json: json(#"[{"op":"replace","path":"/name","value":"\#(name)"}]"#))
    }

    @Test func aConflictAppliesTheMissedEventsThenReducesTheActionAgain() async throws {
        let store = SharedMemoryStore()
        let engine = try await engine(store)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        engine.send(#"{"type":"Add","id":1,"row":{"name":"a","completed":false}}"#, from: session)
        try await engine.settle()

        store.commitElsewhere(try renameOp("from elsewhere"), announce: false)
        engine.send(#"{"type":"Add","id":2,"row":{"name":"b","completed":false}}"#, from: session)
        try await engine.settle()

        #expect(store.conflictsSeen == 1)
        #expect(store.versions == [1, 2, 3])
        let messages = output.messages
        #expect(types(messages) == ["Full", "Patch", "Ack", "Patch", "Patch", "Ack"])
        #expect(messages[3]["version"] == 2 && messages[4]["version"] == 3)
        #expect(messages[5] == (try json(#"{"type":"Ack","id":2,"version":3}"#)))
        let state = try await expectFollowed(output, engine, to: 3)
        #expect(state["name"] == "from elsewhere")
        #expect(state["todos"]?.objectValue?.count == 2)
        #expect(engine.metricsSnapshot().database?.conflictsRetried == 1)
        await engine.shutdown()
    }

    @Test func afterAConflictBatchesCommitUnderTheLockAndMeetNoFurtherConflict() async throws {
        let store = SharedMemoryStore()
        // The lock hands over what others wrote before each batch is written.
        let (engine, output, session) = try await lockedAfterAConflict(store)
        for round in 1..<3 {
            store.commitElsewhere(try renameOp("elsewhere \(round)"), announce: false)
            engine.send(#"{"type":"Add","id":\#(round + 2),"row":{"name":"b\#(round)","completed":false}}"#, from: session)
            try await engine.settle()
        }
        #expect(store.conflictsSeen == 1)
        #expect(store.versions == Array(1...7))
        #expect(output.messages.last == (try json(#"{"type":"Ack","id":4,"version":7}"#)))
        let state = try await expectFollowed(output, engine, to: 7)
        #expect(state["name"] == "elsewhere 2")
        #expect(state["todos"]?.objectValue?.count == 4)
        await engine.shutdown()
    }

    /// An inbox entry on a document others write commits under the lock too: optimistic, it
    /// lost every race to their locked commits, and this instance's sessions queued behind it.
    @Test func afterAConflictAnInboxEntryCommitsUnderTheLockOnTopOfOthersEvents() async throws {
        let store = SharedMemoryStore()
        let (engine, output, _) = try await lockedAfterAConflict(store)
        // Reduced on version 3, handed version 4 under the lock, reduced again and written.
        store.commitElsewhere(try renameOp("elsewhere 1"), announce: false)
        store.submitToInbox(#"{"type":"Add","row":{"name":"from the inbox","completed":false}}"#, id: 1)
        try await engine.settle()
        #expect(store.conflictsSeen == 1)
        #expect(store.versions == Array(1...5))
        #expect(engine.metricsSnapshot().database?.inboxActionsApplied == 1)
        let state = try await expectFollowed(output, engine, to: 5)
        #expect(state["name"] == "elsewhere 1")
        let names = state["todos"]?.objectValue?.members.values.compactMap { $0["name"]?.stringValue }
        #expect(names?.sorted() == ["a", "b0", "from the inbox"])
        await engine.shutdown()
    }

    /// Reduced again under the lock, an inbox entry that others' events made invalid is refused
    /// and recorded as such, and nothing of it is written.
    @Test func anInboxEntryThatOthersEventsMadeInvalidIsRefusedUnderTheLock() async throws {
        let store = SharedMemoryStore()
        let (engine, _, _) = try await lockedAfterAConflict(store, limits: DocumentLimits(maximumDocumentBytes: 400))
        // Fits on version 3; version 4, handed over under the lock, leaves it no room.
        store.commitElsewhere(try renameOp(String(repeating: "x", count: 250)), announce: false)
        let name = String(repeating: "y", count: 100)
        store.submitToInbox(#"{"type":"Add","row":{"name":"\#(name)","completed":false}}"#, id: 1)
        try await engine.settle()
        #expect(store.refusedEntries == [1: .documentTooLarge])
        #expect(store.versions == Array(1...4))
        #expect(store.conflictsSeen == 1)
        #expect(engine.metricsSnapshot().database?.inboxActionsApplied == 0)
        #expect(try await engine.state(of: .default).version == 4)
        await engine.shutdown()
    }

    @Test func aNotificationBroadcastsTheOtherWritersEventsWithTheirVersions() async throws {
        let store = SharedMemoryStore()
        let engine = try await engine(store)
        let viewer = CollectingOutput()
        _ = engine.connect(document: .default, since: nil, role: .viewer, output: viewer)
        try await engine.settle()
        store.commitElsewhere(try renameOp("one"), announce: false)
        store.commitElsewhere(try renameOp("two"), announce: true)
        try await engine.settle()
        #expect(types(viewer.messages) == ["Full", "Patch", "Patch"])
        #expect(viewer.messages.map { $0["version"] } == [0, 1, 2])
        #expect(try await engine.state(of: .default).state["name"] == "two")
        let snapshot = engine.metricsSnapshot().database
        #expect(snapshot?.notifications == 1 && snapshot?.catchUps == 1)
        await engine.shutdown()
    }

    /// Issue 19: a session joining while the instance catches up with a long run of changes
    /// made elsewhere (an inbox storm applied by another instance) is not kept waiting for the
    /// end of it: it gets the state reached so far, then every later Patch in order.
    @Test func aJoinDuringALongCatchUpGetsTheStateReachedSoFarThenEveryPatch() async throws {
        let store = SharedMemoryStore()
        let engine = try await engine(store)
        let watcher = CollectingOutput()
        _ = engine.connect(document: .default, since: nil, role: .viewer, output: watcher)
        try await engine.settle()
        let total = 2500
        for number in 1...total { store.commitElsewhere(try renameOp("n\(number)"), announce: false) }
        // The first read waits until the join is queued behind the catch-up.
        let readStarted = Flag()
        let joinQueued = Flag()
        store.beforeRead.withLock {
            $0 = { number in
                guard number == 1 else { return }
                readStarted.raise()
                while !joinQueued.isRaised { try? await Task.sleep(for: .milliseconds(1)) }
            }
        }
        store.commitElsewhere(try renameOp("announced"), announce: true)
        while !readStarted.isRaised { try await Task.sleep(for: .milliseconds(1)) }
        let joiner = CollectingOutput()
        _ = engine.connect(document: .default, since: nil, role: .viewer, output: joiner)
        joinQueued.raise()
        try await engine.settle()

        let last = JSONValue.integer(Int64(total + 1))
        let full = try #require(joiner.messages.first)
        #expect(full["type"] == "Full")
        // Served after the first run of events, before the last.
        #expect(full["version"] == .integer(Int64(DocumentActor<TodoList>.catchUpChunk)))
        let expected = (DocumentActor<TodoList>.catchUpChunk + 1...total + 1).map { JSONValue.integer(Int64($0)) }
        #expect(joiner.messages.dropFirst().map { $0["version"] } == expected)
        #expect(watcher.messages.last?["version"] == last)
        #expect(watcher.messages.count == total + 2)
        var mirror = Mirror()
        try mirror.apply(joiner.messages)
        #expect(mirror.version == UInt64(total + 1))
        #expect(mirror.state == (try await engine.state(of: .default)).state)
        await engine.shutdown()
    }

    @Test func theAnnouncementOfItsOwnCommitsSendsNoCatchUpToTheStore() async throws {
        let store = SharedMemoryStore(announcesOwnCommits: true)
        let engine = try await engine(store)
        let viewer = CollectingOutput()
        _ = engine.connect(document: .default, since: nil, role: .viewer, output: viewer)
        let writer = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        for number in 1...20 {
            engine.send(#"{"type":"Add","id":\#(number),"row":{"name":"r\#(number)","completed":false}}"#, from: writer)
            try await engine.settle()
        }
        #expect(store.versions == Array(1...20))
        #expect(store.eventReads == 0)
        #expect(viewer.messages.dropFirst().map { $0["version"] } == (1...20).map { JSONValue.integer(Int64($0)) })
        #expect(engine.metricsSnapshot().database?.notifications == 20)
        // Another writer's commit is still read.
        store.commitElsewhere(try renameOp("elsewhere"), announce: true)
        try await engine.settle()
        #expect(store.eventReads == 1)
        #expect(try await engine.state(of: .default).state["name"] == "elsewhere")
        await engine.shutdown()
    }

    @Test func aDocumentChangedElsewhereWhileUnloadedIsListedAndComesBackWithTheChanges() async throws {
        let store = SharedMemoryStore()
        let engine = try await engine(store, idle: .milliseconds(20))
        let editor = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        engine.send(#"{"type":"Add","row":{"name":"a","completed":false}}"#, from: editor)
        try await engine.settle()
        engine.disconnect(editor)
        var unloaded = false
        for _ in 0..<500 where !unloaded {
            try await Task.sleep(for: .milliseconds(10))
            unloaded = engine.metricsSnapshot().documentsLoaded == 0
        }
        #expect(unloaded)

        store.commitElsewhere(try renameOp("from elsewhere"), announce: true)
        #expect(await engine.documents().map(\.version) == [2])
        let viewer = CollectingOutput()
        _ = engine.connect(document: .default, since: nil, role: .viewer, output: viewer)
        try await engine.settle()
        let full = try #require(viewer.messages.first)
        #expect(full["type"] == "Full" && full["version"] == 2)
        #expect(full["todo"]?["name"] == "from elsewhere")
        #expect(full["todo"]?["todos"]?.objectValue?.count == 1)
        await engine.shutdown()
    }

    @Test func noDocumentIsReportedMissingBeforeTheStoreListedThem() async throws {
        let store = SharedMemoryStore()
        store.commitElsewhere(try renameOp("stored"), announce: false)
        let engine = try await engine(store)
        let other = try #require(DocumentName("other"))
        let unlisted = await #expect(throws: SyncEngineError.self) { try await engine.state(of: other) }
        #expect(unlisted?.kind == .storageUnavailable)
        let unlistedSummary = #expect(throws: SyncEngineError.self) { try engine.summary(of: .default) }
        #expect(unlistedSummary?.kind == .storageUnavailable)

        store.list()
        #expect(try engine.summary(of: .default) == DocumentSummary(name: .default, version: 1, changed: 0))
        #expect(await engine.documents().map(\.name) == [.default])
        #expect(engine.metricsSnapshot().documentsLoaded == 0)
        let missing = await #expect(throws: SyncEngineError.self) { try await engine.state(of: other) }
        #expect(missing?.kind == .documentNotFound)
        #expect(try await engine.state(of: .default).state["name"] == "stored")
        await engine.shutdown()
    }

    @Test func changesFromElsewhereCountTowardsTheDocumentSizeLimit() async throws {
        let store = SharedMemoryStore()
        let engine = try await engine(store, limits: DocumentLimits(maximumDocumentBytes: 400))
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        try await engine.settle()
        store.commitElsewhere(try renameOp(String(repeating: "x", count: 300)), announce: true)
        try await engine.settle()

        let name = String(repeating: "y", count: 150)
        engine.send(#"{"type":"Add","id":1,"row":{"name":"\#(name)","completed":false}}"#, from: session)
        try await engine.settle()
        #expect(output.messages.last?["code"] == "document_too_large")
        #expect(try await engine.state(of: .default).version == 1)
        #expect(store.versions == [1])
        await engine.shutdown()
    }
    @Test func aRepeatAnotherInstanceLoggedFirstGetsTheOriginalAckNotASecondApply() async throws {
        let store = SharedMemoryStore()
        let first = try await engine(store)
        let second = try await engine(store)
        let tab = try #require(ClientID("tab-1"))
        let addMilk = #"{"type":"Add","row":{"name":"milk","completed":false},"id":"a1"}"#
        let late = CollectingOutput()
        // The second instance has the document open at version 0 and hears nothing of the first.
        let resend = second.connect(document: .default, since: nil, role: .editor, client: tab, output: late)
        try await second.settle()
        let original = first.connect(document: .default, since: nil, role: .editor, client: tab, output: CollectingOutput())
        first.send(addMilk, from: original)
        try await first.settle()

        second.send(addMilk, from: resend)
        second.send(#"{"type":"ChangeName","name":"x","id":"a1"}"#, from: resend)
        try await second.settle()

        #expect(store.repeatsRefused == 1)
        #expect(store.versions == [1], "applied once")
        let replies = late.messages.filter { $0["type"] == "Ack" || $0["type"] == "Error" }
        #expect(replies.first == (try json(#"{"type":"Ack","id":"a1","version":1}"#)))
        #expect(replies.last?["code"] == "duplicate_id")
        #expect(try await second.state(of: .default).state["todos"]?.objectValue?.count == 1)
        await first.shutdown()
        await second.shutdown()
    }

    @Test func aResendOlderThanTheOutcomesInMemoryIsAnsweredFromTheStore() async throws {
        let store = SharedMemoryStore(seededEvents: 1)
        let tab = try #require(ClientID("tab-1"))
        let complete = #"{"type":"Update","index":0,"row":{"name":"milk","completed":true},"id":"u1"}"#
        let before = try await engine(store)
        let writer = before.connect(document: .default, since: nil, role: .editor, client: tab, output: CollectingOutput())
        before.send(#"{"type":"Add","row":{"name":"milk","completed":false}}"#, from: writer)
        before.send(complete, from: writer)
        before.send(#"{"type":"ChangeName","name":"later"}"#, from: writer)
        try await before.settle()
        await before.shutdown()

        // After a restart only the newest event is read with the document: the Update at
        // version 2 is older. Applied again it would change nothing and be acknowledged at 3.
        let after = try await engine(store)
        let output = CollectingOutput()
        let session = after.connect(document: .default, since: nil, role: .editor, client: tab, output: output)
        after.send(complete, from: session)
        try await after.settle()
        #expect(output.messages.last == (try json(#"{"type":"Ack","id":"u1","version":2}"#)))
        #expect(store.versions == [1, 2, 3])
        await after.shutdown()
    }
}
