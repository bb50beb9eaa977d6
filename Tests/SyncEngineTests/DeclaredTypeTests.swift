import EngineTestSupport
import FileStore
import JSONCodec
import JSONPatch
import Testing

@testable import SyncEngine
@testable import TodoModel

/// A stand-in for the JSON Schema validator (which has tests of its own): every
/// `/machines/NAME/status` must be one of `allowed`, and `counter`, when present, an integer.
private struct MachineStatusValidator: StateValidator {
    var allowed = ["run", "stop", "alarm"]

    func firstFailure(in state: JSONValue) -> String? {
        guard case .object(let machines)? = state["machines"] else { return ": expected an object at /machines (type)" }
        for (name, machine) in machines {
            let pointer = JSONPointer(tokens: ["machines", name, "status"])
            guard let status = machine["status"]?.stringValue, allowed.contains(status) else {
                let found = (try? JSONCodec.encodeString(machine["status"] ?? .null)) ?? "?"
                return "\(pointer): \(found) is not one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")) (enum)"
            }
        }
        return nil
    }
}

private let lineDefault: JSONValue = ["machines": ["M1": ["status": "stop"]]]

private func lineType(version: Int = 1, migrations: [(from: Int, ops: JSONPatch)] = [], allowed: [String]? = nil)
    throws -> DeclaredTypes
{
    var validator = MachineStatusValidator()
    if let allowed { validator.allowed = allowed }
    return try DeclaredTypes([
        DeclaredType(
            name: "line", patterns: [DocumentNamePattern("line-*")], version: version, initialState: lineDefault,
            migrations: migrations, validator: validator, file: "types/line.json")
    ])
}

private func makeTypedEngine(_ directory: TemporaryDirectory, types: DeclaredTypes) async throws -> TodoEngine {
    try await TodoEngine(configuration: .init(store: fileStore(directory), types: types), logger: testLogger)
}

private let line1 = DocumentName("line-1")!
private let line2 = DocumentName("line-2")!

private func patch(_ ops: String, id: String = "p") -> String {
    #"{"type":"Patch","id":"\#(id)","ops":\#(ops)}"#
}

@Suite struct DeclaredTypeTests {
    @Test func theFullOfADeclaredTypeCarriesStateModelAndSchemaAndTheTodoListKeepsItsOwn() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeTypedEngine(directory, types: try lineType(version: 1))
        let typed = CollectingOutput()
        _ = engine.connect(document: line1, since: nil, role: .editor, output: typed)
        let todo = CollectingOutput()
        _ = engine.connect(document: .default, since: nil, role: .editor, output: todo)
        try await engine.settle(line1)
        try await engine.settle()
        #expect(
            typed.messages == [
                try json(
                    #"{"type":"Full","state":{"machines":{"M1":{"status":"stop"}}},"version":0,"schema":1,"model":"line","role":"editor"}"#)
            ])
        #expect(todo.messages == [try json(#"{"type":"Full","todo":{"name":"","todos":{}},"version":0,"schema":1,"role":"editor"}"#)])
        await engine.shutdown()
    }

    @Test func aValidPatchIsAcknowledgedAndAnInvalidOneRefusedWithThePointerAndKeyword() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeTypedEngine(directory, types: try lineType())
        let output = CollectingOutput()
        let session = engine.connect(document: line1, since: nil, role: .editor, output: output)
        engine.send(patch(#"[{"op":"replace","path":"/machines/M1/status","value":"run"}]"#, id: "a"), from: session)
        engine.send(
            patch(#"[{"op":"add","path":"/machines/M3","value":{"status":"jammed"}}]"#, id: "b"), from: session)
        // Atomic: the first op alone would be valid, the second is not, so neither applies.
        engine.send(
            patch(
                #"[{"op":"replace","path":"/machines/M1/status","value":"alarm"},{"op":"add","path":"/machines/M2","value":{}}]"#,
                id: "c"), from: session)
        try await engine.settle(line1)
        let messages = output.drain()
        #expect(types(messages) == ["Full", "Patch", "Ack", "Error", "Error"])
        #expect(messages[3]["code"] == "invalid_patch")
        #expect(messages[3]["message"] == #"/machines/M3/status: "jammed" is not one of "run", "stop", "alarm" (enum)"#)
        #expect(messages[4]["message"] == #"/machines/M2/status: null is not one of "run", "stop", "alarm" (enum)"#)
        let state = try await engine.state(of: line1)
        #expect(state.version == 1)
        #expect(state.state == ["machines": ["M1": ["status": "run"]]])
        await engine.shutdown()
    }

    @Test func typedTodoActionsOnADeclaredTypeGetInvalidAction() async throws {
        let directory = TemporaryDirectory()
        let engine = try await makeTypedEngine(directory, types: try lineType())
        let output = CollectingOutput()
        let session = engine.connect(document: line1, since: nil, role: .editor, output: output)
        engine.send(#"{"type":"ChangeName","name":"x","id":1}"#, from: session)
        try await engine.settle(line1)
        let reply = output.drain().last
        #expect(reply?["code"] == "invalid_action")
        #expect(reply?["message"]?.stringValue?.contains("type line, which takes Patch messages only") == true)
        await engine.shutdown()
    }

    @Test func aDeclaredDocumentSurvivesARestartAndItsFilesNameTheModel() async throws {
        let directory = TemporaryDirectory()
        do {
            let engine = try await makeTypedEngine(directory, types: try lineType())
            let session = engine.connect(document: line1, since: nil, role: .editor, output: CollectingOutput())
            engine.send(patch(#"[{"op":"replace","path":"/machines/M1/status","value":"alarm"}]"#), from: session)
            try await engine.settle(line1)
            await engine.shutdown()
        }
        let line = try json(directory.read("line-1/log.jsonl")?.split(separator: "\n").first.map(String.init) ?? "")
        #expect(line["model"] == "line")
        #expect(try json(directory.read("line-1/snapshot.json") ?? "")["model"] == "line")
        let engine = try await makeTypedEngine(directory, types: try lineType())
        let state = try await engine.state(of: line1)
        #expect(state.version == 1)
        #expect(state.state == ["machines": ["M1": ["status": "alarm"]]])
        // Revert works as for the Todo list.
        #expect(try await engine.revert(line1, to: 0) == 2)
        #expect(try await engine.state(of: line1).state == lineDefault)
        await engine.shutdown()
    }

    @Test func aCompactedDeclaredDocumentKeepsItsModel() async throws {
        let directory = TemporaryDirectory()
        let name = DocumentName("line-3")!
        do {
            let engine = try await TodoEngine(
                configuration: .init(
                    store: fileStore(directory, retainedEvents: 2, snapshotInterval: 2), retainedEvents: 2,
                    types: try lineType()),
                logger: testLogger)
            let session = engine.connect(document: name, since: nil, role: .editor, output: CollectingOutput())
            for number in 0..<8 {
                let status = ["run", "stop", "alarm"][number % 3]
                engine.send(patch(#"[{"op":"replace","path":"/machines/M1/status","value":"\#(status)"}]"#), from: session)
                try await engine.settle(name)
            }
            // Compaction runs on a thread of its own: wait for its snapshot (no time is asserted).
            for _ in 0..<500 where (try? json(directory.read("line-3/snapshot.json") ?? ""))?["version"] == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            await engine.shutdown()
        }
        let snapshot = try json(directory.read("line-3/snapshot.json") ?? "")
        #expect(snapshot["model"] == "line")
        #expect((snapshot["version"]?.integerValue ?? 0) > 0)
        let engine = try await makeTypedEngine(directory, types: try lineType())
        #expect(try await engine.state(of: name).state == ["machines": ["M1": ["status": "stop"]]])
        await engine.shutdown()
        let todo = try await makeEngine(directory)
        await #expect(throws: SyncEngineError.self) { try await todo.state(of: name) }
        await todo.shutdown()
    }

    @Test func aDocumentStoredAsTheTodoListIsRefusedWhenATypeNowMatchesItsName() async throws {
        let directory = TemporaryDirectory()
        do {
            let engine = try await makeEngine(directory)
            let session = engine.connect(document: line2, since: nil, role: .editor, output: CollectingOutput())
            engine.send(#"{"type":"ChangeName","name":"old list"}"#, from: session)
            try await engine.settle(line2)
            await engine.shutdown()
        }
        let before = directory.read("line-2/log.jsonl")
        let engine = try await makeTypedEngine(directory, types: try lineType())
        for _ in 0..<2 {
            let output = CollectingOutput()
            _ = engine.connect(document: line2, since: nil, role: .editor, output: output)
            await #expect(throws: SyncEngineError.self) { try await engine.state(of: line2) }
            #expect(output.messages.first?["code"] == "model_mismatch")
            #expect(
                output.messages.first?["message"]?.stringValue?.contains(
                    "was written as the built-in model todo, but its name now makes it type line") == true)
        }
        do {
            _ = try await engine.state(of: line2)
        } catch {
            #expect(error.kind == .modelMismatch)
        }
        let refusals = RecordingLogHandler.records.withLock { $0 }.filter {
            $0.contains("stored as another model") && $0.contains("line-2")
        }
        #expect(refusals.count == 1)
        #expect(directory.read("line-2/log.jsonl") == before)
        await engine.shutdown()
    }

    @Test func aDocumentOfATypeIsRefusedAsTheTodoListOnceNoTypeMatchesIt() async throws {
        let directory = TemporaryDirectory()
        do {
            let engine = try await makeTypedEngine(directory, types: try lineType())
            let session = engine.connect(document: line1, since: nil, role: .editor, output: CollectingOutput())
            engine.send(patch(#"[{"op":"replace","path":"/machines/M1/status","value":"run"}]"#), from: session)
            try await engine.settle(line1)
            await engine.shutdown()
        }
        let engine = try await makeEngine(directory)
        do {
            _ = try await engine.state(of: line1)
            Issue.record("a document of type line opened as the Todo list")
        } catch {
            #expect(error.kind == .modelMismatch)
            #expect(error.message.contains("was written as type line, but its name now makes it the built-in model todo"))
        }
        await engine.shutdown()
    }

    @Test func version2MigratesEveryStoredDocumentOfVersion1WithAMigrateEvent() async throws {
        let directory = TemporaryDirectory()
        do {
            let engine = try await makeTypedEngine(directory, types: try lineType())
            let session = engine.connect(document: line1, since: nil, role: .editor, output: CollectingOutput())
            engine.send(patch(#"[{"op":"add","path":"/machines/M2","value":{"status":"run"}}]"#), from: session)
            try await engine.settle(line1)
            await engine.shutdown()
        }
        let ops = try JSONPatch(json: json(#"[{"op":"add","path":"/shift","value":"A"}]"#))
        let engine = try await makeTypedEngine(directory, types: try lineType(version: 2, migrations: [(1, ops)]))
        let state = try await engine.state(of: line1)
        #expect(state.version == 2)
        #expect(state.state["shift"] == "A")
        let migrate = try await engine.history(of: line1, since: 1).first
        #expect(migrate?.action == ["type": "Migrate", "from": 1, "to": 2])
        #expect(migrate?.model == "line")
        #expect(migrate?.schema == 2)
        #expect(migrate?.ops.jsonValue == (try json(#"[{"op":"add","path":"/shift","value":"A"}]"#)))
        let output = CollectingOutput()
        _ = engine.connect(document: line1, since: nil, role: .editor, output: output)
        try await engine.settle(line1)
        #expect(output.messages.first?["schema"] == 2)
        // Revert to before the migration: the old state is migrated again.
        #expect(try await engine.revert(line1, to: 0) == 3)
        #expect(try await engine.state(of: line1).state == ["machines": ["M1": ["status": "stop"]], "shift": "A"])
        await engine.shutdown()
    }

    @Test func aMigrationWhoseResultFailsTheSchemaStopsStartUpNamingTheDocument() async throws {
        let directory = TemporaryDirectory()
        do {
            let engine = try await makeTypedEngine(directory, types: try lineType())
            let session = engine.connect(document: line1, since: nil, role: .editor, output: CollectingOutput())
            engine.send(patch(#"[{"op":"replace","path":"/machines/M1/status","value":"run"}]"#), from: session)
            try await engine.settle(line1)
            await engine.shutdown()
        }
        let ops = try JSONPatch(json: json(#"[{"op":"replace","path":"/machines/M1/status","value":"running"}]"#))
        do {
            _ = try await makeTypedEngine(directory, types: try lineType(version: 2, migrations: [(1, ops)]))
            Issue.record("start-up went on")
        } catch let error as SyncEngineError {
            #expect(error.message.contains("line-1"))
            #expect(error.message.contains(#"/machines/M1/status: "running" is not one of"#))
        }
    }

    @Test func overlappingPatternsAreRefusedNamingBothTypes() throws {
        let a = DeclaredType(
            name: "line", patterns: [DocumentNamePattern("line-*")], version: 1, initialState: lineDefault,
            migrations: [], validator: MachineStatusValidator(), file: "types/line.json")
        let b = DeclaredType(
            name: "cell", patterns: [DocumentNamePattern("*-7")], version: 1, initialState: lineDefault,
            migrations: [], validator: MachineStatusValidator(), file: "types/cell.json")
        do {
            _ = try DeclaredTypes([a, b])
            Issue.record("overlapping types accepted")
        } catch {
            #expect(error.file == "types/cell.json")
            #expect(error.pointer == "/x-patchsync/documents")
            #expect(error.reason.contains(#"pattern "*-7" of type cell overlaps pattern "line-*" of type line"#))
        }
    }

    @Test func namePatterns() {
        let pattern = DocumentNamePattern("line-?*")
        #expect(pattern.matches("line-1"))
        #expect(pattern.matches("line-12"))
        #expect(!pattern.matches("line-"))
        #expect(!pattern.matches("xline-1"))
        #expect(DocumentNamePattern("a*").overlaps(DocumentNamePattern("*b")))
        #expect(!DocumentNamePattern("line-*").overlaps(DocumentNamePattern("shift-*")))
        #expect(!DocumentNamePattern("a?").overlaps(DocumentNamePattern("a")))
        #expect(DocumentNamePattern("a?c").overlaps(DocumentNamePattern("*c")))
        #expect(!DocumentNamePattern("a*x").overlaps(DocumentNamePattern("b*")))
    }

    @Test func aDeclarationIsRefusedWithTheFileThePointerAndTheReason() throws {
        func reading(_ text: String) throws -> DeclaredTypeError? {
            do {
                _ = try DeclaredType(name: "line", file: "t/line.json", schema: json(text)) { _ throws(SchemaRefusal) in
                    MachineStatusValidator()
                }
                return nil
            } catch let error as DeclaredTypeError {
                return error
            }
        }
        #expect(try reading(#"{"default":{}}"#)?.pointer == "/x-patchsync")
        #expect(try reading(#"{"default":{},"x-patchsync":{"documents":["l-*"],"versoin":2}}"#)?.pointer == "/x-patchsync/versoin")
        #expect(try reading(#"{"default":{},"x-patchsync":{"documents":[]}}"#)?.pointer == "/x-patchsync/documents")
        #expect(try reading(#"{"default":{},"x-patchsync":{"documents":["l/*"]}}"#)?.pointer == "/x-patchsync/documents/0")
        #expect(try reading(#"{"default":{},"x-patchsync":{"documents":["l-*"],"version":2}}"#)?.pointer == "/x-patchsync/migrations")
        #expect(try reading(#"{"x-patchsync":{"documents":["l-*"]}}"#)?.pointer == "/default")
        let failing = try reading(#"{"default":{"machines":{"M":{"status":"x"}}},"x-patchsync":{"documents":["l-*"]}}"#)
        #expect(failing?.pointer == "/default")
        #expect(failing?.description.hasPrefix(#"t/line.json: /default: the default fails the schema: /machines/M/status: "x""#) == true)
        #expect(try reading(#"{"default":{"machines":{}},"x-patchsync":{"documents":["l-*"],"version":2,"migrations":{"1":[]}}}"#) == nil)
    }
}
