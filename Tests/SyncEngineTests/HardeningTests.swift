import EngineTestSupport
import FileStore
import JSONPatch
import SyncProtocol
import Testing

@testable import SyncEngine
@testable import TodoModel

/// Issue 19: presence names and ids bounded in bytes, the outcome memory bounded, u32 rows for
/// raw patches, viewers and `(client, id)`, readable root conflicts, resumes ahead of version 0.
@Suite struct HardeningTests {
    // MARK: presence names

    @Test func presenceNamesAreBoundedInBytesBeforeCharacters() {
        // One character of 60 KB: refused for its bytes, before anything counts characters.
        let accented = "e" + String(repeating: "\u{301}", count: 30_000)
        #expect(PresenceName.refusal(of: accented) == "name: 60001 bytes of UTF-8; at most 256")
        // Within the bytes, still one character: refused for its stack of marks.
        let stacked = "e" + String(repeating: "\u{301}", count: 31)
        #expect(PresenceName.refusal(of: stacked)?.contains("combining marks") == true)
        #expect(PresenceName.refusal(of: "e" + String(repeating: "\u{301}", count: 30)) == nil)
        // 64 four-byte emoji are exactly 256 bytes and 64 characters.
        #expect(PresenceName.refusal(of: String(repeating: "😀", count: 64)) == nil)
        #expect(PresenceName.refusal(of: String(repeating: "😀", count: 65))?.contains("bytes") == true)
        #expect(PresenceName.refusal(of: String(repeating: "é", count: 65)) == "name: at most 64 characters")
        #expect(PresenceName.refusal(of: "") == nil)
    }

    /// Random names from a mix of ASCII, marks, emoji and joiners: accepted exactly when within
    /// every bound, and the refusal's text stays short.
    @Test func randomNamesMeetEveryBoundOrAreRefused() {
        var generator = SystemRandomNumberGenerator()
        let pieces: [String] = ["a", "Z", " ", "é", "\u{301}", "\u{308}", "😀", "\u{200D}", "👩", "漢", "\u{1F3FD}"]
        for _ in 0..<3000 {
            let name = (0..<Int.random(in: 0...140, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }.joined()
            let refusal = PresenceName.refusal(of: name)
            if refusal == nil {
                #expect(name.utf8.count <= PresenceName.maximumBytes)
                #expect(name.count <= PresenceName.maximumCharacters)
            }
            if name.utf8.count > PresenceName.maximumBytes || name.count > PresenceName.maximumCharacters {
                #expect(refusal != nil)
            }
            #expect((refusal?.utf8.count ?? 0) < 100)
        }
    }

    @Test func aHelloWithALongNameIsRefusedAndNeverBroadcastOrLogged() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let viewer = CollectingOutput()
        let watching = engine.connect(document: .default, since: nil, role: .editor, output: viewer)
        engine.send(#"{"type":"Hello","name":"W"}"#, from: watching)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        let accents = String(repeating: "\u{301}", count: 30_000)
        engine.send(#"{"type":"Hello","name":"e\#(accents)"}"#, from: session)
        engine.send(#"{"type":"ChangeName","name":"x"}"#, from: session)
        try await engine.settle()
        #expect(output.messages.contains { $0["code"] == "invalid_action" })
        #expect(!viewer.messages.contains { $0["type"] == "PresenceJoin" })
        #expect(viewer.messages.allSatisfy { ($0["name"]?.stringValue?.utf8.count ?? 0) < 256 })
        await engine.shutdown()
        let log = try #require(directory.read("default/log.jsonl"))
        #expect(!log.contains("\u{301}"))
        #expect(!RecordingLogHandler.records.withLock { $0.contains { $0.contains("\u{301}") } })
    }

    @Test func anotherInstancesEntryWithALongNameIsIgnored() throws {
        let long = String(repeating: "\u{301}", count: 200)
        let entry = try json(
            #"{"session":1,"name":"e\#(long)","client":null,"since":1,"role":"editor","focus":null}"#)
        #expect(PresenceEntry(json: entry) == nil)
    }

    // MARK: action ids and the outcome memory

    @Test func idsOverTheLimitAreRefusedWithoutBeingRememberedOrEchoed() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, client: ClientID("c"), output: output)
        let long = String(repeating: "x", count: ClientEnvelope.maximumIDBytes + 1)
        let fits = String(repeating: "y", count: ClientEnvelope.maximumIDBytes)
        engine.send(#"{"type":"ChangeName","name":"a","id":"\#(long)"}"#, from: session)
        engine.send(#"{"type":"ChangeName","name":"b","id":"\#(fits)"}"#, from: session)
        engine.send(#"{"type":"ChangeName","name":"c","id":123456789012345}"#, from: session)
        try await engine.settle()
        let replies = output.messages.filter { $0["type"] == "Error" || $0["type"] == "Ack" }
        #expect(replies.count == 3)
        #expect(replies[0]["code"] == "invalid_action" && replies[0]["id"] == nil)
        #expect(replies[0]["message"]?.stringValue?.contains("at most 128") == true)
        #expect(replies[1]["type"] == "Ack" && replies[1]["id"] == .string(fits))
        #expect(replies[2]["type"] == "Ack")
        #expect(try await engine.state(of: .default).version == 2)
        await engine.shutdown()
    }

    @Test func theOutcomeMemoryStaysWithinItsBytesOldestFirst() throws {
        let client = try #require(ClientID("c"))
        let reply = ServerMessage.error(id: nil, code: .invalidAction, message: "no", version: nil)
        let one = ActionOutcomes.estimatedBytes(
            ActionKey(client: client, id: .string(String(repeating: "x", count: 100))), .rejected(reply))
        var outcomes = ActionOutcomes(maximumBytes: one * 10)
        for index in 0..<50 {
            let key = ActionKey(client: client, id: .string(String(repeating: "x", count: 97) + "\(index + 100)"))
            if index % 2 == 0 {
                outcomes.recordLogged(key, digest: ActionDigest(.integer(1)), version: UInt64(index + 1), time: Int64(index))
            } else {
                outcomes.recordTransient(key, digest: ActionDigest(.integer(1)), outcome: .rejected(reply), time: Int64(index))
            }
            #expect(outcomes.bytes <= one * 10)
        }
        #expect(outcomes.count >= 9 && outcomes.count <= 10)
        // The newest are kept, the oldest gone; an evicted logged outcome moves `completeAfter`
        // so that a shared store is asked for it.
        #expect(outcomes.contains(ActionKey(client: client, id: .string(String(repeating: "x", count: 97) + "149"))))
        #expect(!outcomes.contains(ActionKey(client: client, id: .string(String(repeating: "x", count: 97) + "139"))))
        #expect(outcomes.completeAfter >= 39)
        // Age still applies as before.
        outcomes.expire(now: 49 + ActionOutcomes.lifetime + 1, retainedAfter: 1000)
        #expect(outcomes.count == 0 && outcomes.bytes == 0)
    }

    @Test func forgettingAndRecordingAgainKeepTheBytesExact() throws {
        let client = try #require(ClientID("c"))
        var outcomes = ActionOutcomes()
        let key = ActionKey(client: client, id: "k")
        outcomes.recordLogged(key, digest: ActionDigest(.integer(1)), version: 1, time: 1)
        outcomes.recordLogged(key, digest: ActionDigest(.integer(1)), version: 2, time: 2)
        #expect(outcomes.bytes == ActionOutcomes.estimatedBytes(key, .accepted(version: 2)))
        outcomes.forget([key])
        #expect(outcomes.bytes == 0 && outcomes.count == 0)
    }

    @Test func theMetricsShowTheOutcomeMemory() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let session = engine.connect(
            document: .default, since: nil, role: .editor, client: ClientID("c"), output: CollectingOutput())
        for index in 0..<5 {
            engine.send(#"{"type":"ChangeName","name":"n\#(index)","id":"id-\#(index)"}"#, from: session)
        }
        try await engine.settle()
        let snapshot = engine.metricsSnapshot()
        #expect(snapshot.actionOutcomes == 5)
        #expect(snapshot.actionOutcomeBytes > 5 * ActionOutcomes.entryOverheadBytes)
        await engine.shutdown()
    }

    // MARK: viewers and (client, id)

    @Test func aViewerCannotOccupyAnEditorsActionID() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let client = try #require(ClientID("shared"))
        let viewer = CollectingOutput()
        let viewing = engine.connect(document: .default, since: nil, role: .viewer, client: client, output: viewer)
        let action = #"{"type":"ChangeName","name":"from the editor","id":"1"}"#
        engine.send(action, from: viewing)
        try await engine.settle()
        #expect(viewer.messages.last?["code"] == "forbidden")
        let editor = CollectingOutput()
        let editing = engine.connect(document: .default, since: nil, role: .editor, client: client, output: editor)
        engine.send(action, from: editing)
        try await engine.settle()
        #expect(editor.messages.last?["type"] == "Ack")
        #expect(try await engine.state(of: .default).state["name"] == "from the editor")
        // The viewer's repeat is still forbidden, and the editor's own repeat its Ack.
        engine.send(action, from: viewing)
        engine.send(action, from: editing)
        try await engine.settle()
        #expect(viewer.messages.last?["code"] == "forbidden")
        #expect(editor.messages.last?["type"] == "Ack" && editor.messages.last?["version"] == 1)
        await engine.shutdown()
    }

    // MARK: raw patches

    @Test(arguments: ["4294967296", "9223372036854775807"])
    func rawPatchesCannotWriteRowsAboveU32(index: String) async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        engine.send(
            #"{"type":"Patch","id":1,"ops":[{"op":"add","path":"/todos/\#(index)","value":{"name":"x","completed":false}}]}"#,
            from: session)
        engine.send(
            #"{"type":"Patch","id":2,"ops":[{"op":"add","path":"/todos/4294967295","value":{"name":"y","completed":false}}]}"#,
            from: session)
        try await engine.settle()
        let replies = output.messages.filter { $0["type"] == "Error" || $0["type"] == "Ack" }
        #expect(replies.first?["code"] == "invalid_patch")
        #expect(replies.first?["message"]?.stringValue?.hasPrefix("/todos/\(index):") == true)
        #expect(replies.last?["type"] == "Ack")
        #expect(try await engine.state(of: .default).version == 1)
        await engine.shutdown()
    }

    @Test func aStoredRowAboveU32StaysAndOtherRawPatchesStillWork() throws {
        let big = Int(TodoIndex.max) + 1
        let previous = TodoState(name: "", todos: [big: TodoRow(name: "legacy", completed: false)])
        var next = previous
        next.todos[1] = TodoRow(name: "new", completed: false)
        try TodoList.checkPatched(next, previous: previous)
        next.todos[big] = TodoRow(name: "renamed", completed: false)
        #expect(throws: ActionRejected.self) { try TodoList.checkPatched(next, previous: previous) }
    }

    @Test func aConflictOnTheRootNamesItReadably() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        engine.send(#"{"type":"ChangeName","name":"a"}"#, from: session)
        engine.send(#"{"type":"ChangeName","name":"b"}"#, from: session)
        engine.send(
            #"{"type":"Patch","base":1,"ops":[{"op":"replace","path":"","value":{"name":"c","todos":{}}}]}"#,
            from: session)
        try await engine.settle()
        let error = try #require(output.messages.last { $0["type"] == "Error" })
        #expect(error["code"] == "conflict")
        #expect(error["message"] == #""" (the whole document) changed after version 1"#)
        await engine.shutdown()
    }

    // MARK: resumes

    @Test func aResumeAheadOfANeverWrittenDocumentIsRefused() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        #expect(engine.resumeRefusal(forResuming: .default, since: 5)?.contains("no versions yet") == true)
        #expect(engine.resumeRefusal(forResuming: .default, since: 0) == nil)
        let session = engine.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        engine.send(#"{"type":"ChangeName","name":"a"}"#, from: session)
        try await engine.settle()
        // Ahead of a written document: a Full, as before.
        #expect(engine.resumeRefusal(forResuming: .default, since: 5) == nil)
        await engine.shutdown()
    }
}

@Suite struct PresenceRenameTests {
    /// Each Hello sends the whole list back and tells every session: renames share Focus's budget.
    @Test func renamesAreRateLimitedLikeFocus() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeEngine(directory)
        let other = CollectingOutput()
        let watching = engine.connect(document: .default, since: nil, role: .editor, output: other)
        engine.send(#"{"type":"Hello","name":"W"}"#, from: watching)
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        let renames = Int(PresenceBudget.burst) + 5
        for index in 0...renames {
            engine.send(#"{"type":"Hello","name":"n\#(index)","id":\#(index)}"#, from: session)
        }
        try await engine.settle()
        let limited = output.messages.filter { $0["code"] == "rate_limited" }.count
        #expect(limited >= 4, "the first Hello and a burst of renames pass, the rest are refused")
        let joins = other.messages.filter { $0["type"] == "PresenceJoin" }.count
        #expect(joins + limited == renames + 1)
        await engine.shutdown()
    }
}
