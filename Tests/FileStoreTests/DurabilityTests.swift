import EngineTestSupport
import FileStore
import Foundation
import JSONPatch
import Testing

@testable import SyncEngine
@testable import TodoModel

@Suite struct DurabilityTests {
    /// An engine whose file store compacts once 15 events are logged, keeping 5, and that store.
    private func compactingEngine(_ directory: TemporaryDirectory) async throws -> (TodoEngine, FileDocumentStore) {
        let store = fileStore(directory, retainedEvents: 5, snapshotInterval: 10)
        return (try await TodoEngine(configuration: .init(store: store, retainedEvents: 5), logger: testLogger), store)
    }

    /// Compaction runs beside the commits: sent one at a time, each compaction swapped in before
    /// the next action, the actions leave a log of the same length on every run.
    private func sendOneAtATime(
        _ actions: [String], to engine: TodoEngine, from session: SessionID, store: FileDocumentStore
    ) async throws {
        for action in actions {
            engine.send(action, from: session)
            try await engine.settle()
            await store.compactionsFinished()
        }
    }

    /// Runs `actions` against a fresh engine on `directory` and shuts it down.
    private func record(_ actions: [String], in directory: TemporaryDirectory, document: DocumentName = .default)
        async throws -> DocumentState
    {
        let engine = try await makeEngine(directory)
        let session = engine.connect(document: document, since: nil, role: .editor, output: CollectingOutput())
        for action in actions { engine.send(action, from: session) }
        let state = try await engine.state(of: document)
        await engine.shutdown()
        return state
    }

    private let threeActions = [
        #"{"type":"Add","row":{"name":"a","completed":false}}"#,
        #"{"type":"Add","row":{"name":"b","completed":true}}"#,
        #"{"type":"ChangeName","name":"list"}"#,
    ]

    @Test func restartRestoresEveryDocument() async throws {
        let directory = TemporaryDirectory()
        let before = try await record(threeActions, in: directory)
        #expect(before.version == 3)

        let engine = try await makeEngine(directory)
        #expect(try await engine.state(of: .default) == before)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        engine.send(#"{"type":"RemoveCompleted","id":1}"#, from: session)
        try await engine.settle()
        #expect(output.messages[0] == .object(["type": "Full", "todo": before.state, "version": 3, "schema": 1, "role": "editor"]))
        #expect(output.messages.last == (try json(#"{"type":"Ack","id":1,"version":4}"#)))
        await engine.shutdown()
    }

    @Test func eachLogLineHoldsVersionTimeActionAndOps() async throws {
        let directory = TemporaryDirectory()
        _ = try await record([#"{"type":"ChangeName","id":"x","name":"n"}"#], in: directory)
        let line = try #require(directory.read("default/log.jsonl"))
        #expect(line.hasSuffix("\n"))
        let event = try json(String(line.dropLast()))
        #expect(event["version"] == 1)
        #expect(event["time"]?.integerValue ?? 0 > 1_700_000_000_000)
        #expect(event["action"] == (try json(#"{"type":"ChangeName","name":"n"}"#)))
        #expect(event["ops"] == (try json(#"[{"op":"replace","path":"/name","value":"n"}]"#)))
    }

    @Test(arguments: [#"{"version":4,"time":1,"act"#, "garbage that is not json\n"])
    func aTornLastLineIsDroppedWithAWarning(tail: String) async throws {
        let directory = TemporaryDirectory()
        let before = try await record(threeActions, in: directory)
        let intact = try #require(directory.read("default/log.jsonl"))
        try directory.write("default/log.jsonl", intact + tail)

        let engine = try await makeEngine(directory)
        #expect(try await engine.state(of: .default) == before)
        #expect(directory.read("default/log.jsonl") == intact)
        let logPath = directory.file("default/log.jsonl")
        #expect(RecordingLogHandler.records.withLock { $0.contains { $0.contains("torn") && $0.contains(logPath) } })
        await engine.shutdown()
    }

    @Test func corruptionBeforeTheLastLineStopsStartUpNamingFileAndLine() async throws {
        let directory = TemporaryDirectory()
        _ = try await record(threeActions, in: directory)
        let lines = try #require(directory.read("default/log.jsonl")).split(separator: "\n")
        try directory.write(
            "default/log.jsonl", [lines[0], "{\"version\":2,\"oops\"", lines[2]].joined(separator: "\n") + "\n")

        let error = try await #require(throws: SyncEngineError.self) { try await makeEngine(directory) }
        #expect(error.kind == .corruptData)
        #expect(error.message.contains(directory.file("default/log.jsonl") + ":2:"))
    }

    @Test func aVersionGapIsCorruption() async throws {
        let directory = TemporaryDirectory()
        _ = try await record(threeActions, in: directory)
        let lines = try #require(directory.read("default/log.jsonl")).split(separator: "\n")
        try directory.write("default/log.jsonl", [lines[0], lines[2]].joined(separator: "\n") + "\n")

        let error = try await #require(throws: SyncEngineError.self) { try await makeEngine(directory) }
        #expect(error.message.contains("log.jsonl:2:"))
        #expect(error.message.contains("expected version 2, found version 3"))
    }

    @Test func aFailedWriteRefusesTheActionAndRecoversLater() async throws {
        let directory = TemporaryDirectory()
        let storage = FailingStorage()
        let engine = try await makeEngine(directory, storage: storage)
        let sender = CollectingOutput()
        let viewer = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: sender)
        _ = engine.connect(document: .default, since: nil, role: .viewer, output: viewer)
        engine.send(#"{"type":"ChangeName","id":1,"name":"saved"}"#, from: session)
        let saved = try await engine.state(of: .default)
        _ = sender.drain()
        _ = viewer.drain()

        storage.failWrites.store(true, ordering: .relaxed)
        engine.send(#"{"type":"Add","id":2,"row":{"name":"lost","completed":false}}"#, from: session)
        engine.send(#"{"type":"ChangeName","name":"lost too"}"#, from: session)
        #expect(try await engine.state(of: .default) == saved)
        let refused = sender.drain()
        #expect(refused.map { $0["code"] } == ["storage_unavailable", "storage_unavailable"])
        #expect(refused.map { $0["id"] } == [2, nil])
        #expect(viewer.drain().isEmpty)

        storage.failWrites.store(false, ordering: .relaxed)
        engine.send(#"{"type":"ChangeName","id":3,"name":"back"}"#, from: session)
        try await engine.settle()
        #expect(
            sender.drain() == [
                try json(#"{"type":"Patch","ops":[{"op":"replace","path":"/name","value":"back"}],"version":2,"from":1}"#),
                try json(#"{"type":"Ack","id":3,"version":2}"#),
            ])
        #expect(types(viewer.drain()) == ["Patch"])
        await engine.shutdown()

        // The half-written lines were cut off: the log reloads cleanly, without a torn line.
        let lines = try #require(directory.read("default/log.jsonl")).split(
            separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3 && lines[2].isEmpty)
        let restarted = try await makeEngine(directory)
        #expect(try await restarted.state(of: .default).state["name"] == "back")
        #expect(try await restarted.state(of: .default).version == 2)
        await restarted.shutdown()
    }

    @Test func queuedActionsShareAnFsync() async throws {
        let directory = TemporaryDirectory()
        let storage = FailingStorage()
        let engine = try await makeEngine(directory, storage: storage)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        try await engine.settle()
        let syncsBefore = storage.syncCount.load(ordering: .relaxed)
        for index in 0..<200 {
            engine.send(#"{"type":"Add","id":\#(index),"row":{"name":"\#(index)","completed":false}}"#, from: session)
        }
        #expect(try await engine.state(of: .default).version == 200)
        #expect(output.messages.filter { $0["type"] == "Ack" }.count == 200)
        #expect(storage.syncCount.load(ordering: .relaxed) - syncsBefore < 200)
        await engine.shutdown()
    }

    @Test func compactionKeepsStartUpShortAndHistoryBounded() async throws {
        let directory = TemporaryDirectory()
        let (engine, store) = try await compactingEngine(directory)
        let session = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        try await sendOneAtATime(
            (1...42).map { #"{"type":"Update","index":\#($0 % 4),"row":{"name":"v\#($0)","completed":false}}"# },
            to: engine, from: session, store: store)
        let before = try await engine.state(of: .default)
        #expect(before.version == 42)
        let history = try await engine.history(of: .default)
        #expect(history.last?.version == 42)
        #expect(history.count >= 5 && history.count < 15)
        await #expect(throws: SyncEngineError.self) { try await engine.revert(.default, to: 1) }
        await engine.shutdown()

        #expect(directory.read("default/snapshot.json") != nil)
        let logLines = try #require(directory.read("default/log.jsonl")).split(separator: "\n")
        #expect(logLines.count < 15)
        let restarted = try await makeEngine(directory, retainedEvents: 5, snapshotInterval: 10)
        #expect(try await restarted.state(of: .default) == before)
        #expect(try await restarted.history(of: .default) == history)
        await restarted.shutdown()
    }

    /// Compaction writes the snapshot off the storage thread, then swaps the log: a crash in
    /// between leaves a newer snapshot beside the whole old log.
    @Test func aCrashBetweenTheSnapshotAndTheLogSwapLosesNothing() async throws {
        let directory = TemporaryDirectory()
        let storage = FailingStorage()
        storage.failLogReplacement.store(true, ordering: .relaxed)
        let engine = try await makeEngine(directory, retainedEvents: 5, snapshotInterval: 10, storage: storage)
        let session = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        for index in 1...42 {
            engine.send(#"{"type":"Add","row":{"name":"r\#(index)","completed":false}}"#, from: session)
        }
        let before = try await engine.state(of: .default)
        #expect(before.version == 42)
        await engine.shutdown()
        let snapshot = try json(try #require(directory.read("default/snapshot.json")))
        #expect((snapshot["version"]?.integerValue ?? 0) > 0)
        #expect(try #require(directory.read("default/log.jsonl")).split(separator: "\n").count == 42)

        let restarted = try await makeEngine(directory, retainedEvents: 5, snapshotInterval: 10)
        #expect(try await restarted.state(of: .default) == before)
        let again = restarted.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        for index in 43...60 {
            restarted.send(#"{"type":"Add","row":{"name":"r\#(index)","completed":false}}"#, from: again)
        }
        let after = try await restarted.state(of: .default)
        #expect(after.version == 60)
        await restarted.shutdown()
        let lines = try #require(directory.read("default/log.jsonl")).split(separator: "\n")
        #expect(lines.count < 30, "\(lines.count) lines; snapshot \(directory.read("default/snapshot.json")?.prefix(60) ?? "")")
        let third = try await makeEngine(directory, retainedEvents: 5, snapshotInterval: 10)
        #expect(try await third.state(of: .default) == after)
        await third.shutdown()
    }

    /// The compacted log is written and synced beside the log before the swap renames it over
    /// the log: a crash in between leaves it behind (here: half written), which loading never
    /// reads and the next compaction overwrites.
    @Test func aCompactedLogLeftByACrashIsIgnoredAndOverwritten() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory, retainedEvents: 5, snapshotInterval: 10)
        let session = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        for index in 1...12 {
            engine.send(#"{"type":"Add","row":{"name":"r\#(index)","completed":false}}"#, from: session)
        }
        let before = try await engine.state(of: .default)
        await engine.shutdown()
        try directory.write("default/log.jsonl.compacted", #"{"version":3,"time":1,"act"#)

        let (restarted, store) = try await compactingEngine(directory)
        #expect(try await restarted.state(of: .default) == before)
        let again = restarted.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        try await sendOneAtATime(
            (13...40).map { #"{"type":"Add","row":{"name":"r\#($0)","completed":false}}"# },
            to: restarted, from: again, store: store)
        let after = try await restarted.state(of: .default)
        #expect(after.version == 40)
        await restarted.shutdown()
        let lines = try #require(directory.read("default/log.jsonl")).split(separator: "\n")
        #expect(lines.count < 20, "\(lines.count) lines: the log was not compacted")
        #expect(directory.read("default/log.jsonl.compacted") == nil)
        let third = try await makeEngine(directory, retainedEvents: 5, snapshotInterval: 10)
        #expect(try await third.state(of: .default) == after)
        await third.shutdown()
    }

    @Test func replayRebuildsAnyRetainedVersionOffline() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        for action in threeActions { engine.send(action, from: session) }
        try await engine.settle()
        await engine.shutdown()

        var mirror = Mirror()
        try mirror.apply(Array(output.messages.prefix(3)))  // Full and the first two patches
        let replayed = try await TodoEngine.replay(from: fileStore(directory, readOnly: true), document: .default, to: 2)
        #expect(replayed == DocumentState(version: 2, state: mirror.state))
        #expect(
            try await TodoEngine.replay(from: fileStore(directory, readOnly: true), document: .default, to: nil)
                .version == 3)
        await #expect(throws: SyncEngineError.self) {
            try await TodoEngine.replay(from: fileStore(directory, readOnly: true), document: .default, to: 9)
        }
        await #expect(throws: SyncEngineError.self) {
            try await TodoEngine.replay(from: fileStore(directory, readOnly: true), document: DocumentName("nothing")!, to: nil)
        }
    }
}
