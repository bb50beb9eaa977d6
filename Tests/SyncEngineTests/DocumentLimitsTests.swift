import EngineTestSupport
import FileStore
import Foundation
import JSONCodec
import JSONPatch
import Testing

@testable import SyncEngine
@testable import TodoModel

/// Every input a client controls has a bound, checked before anything is logged.
@Suite struct DocumentLimitsTests {
    private func engine(_ directory: TemporaryDirectory, _ limits: DocumentLimits) async throws -> TodoEngine {
        try await TodoEngine(configuration: .init(store: fileStore(directory), limits: limits), logger: testLogger)
    }

    private func replies(_ output: CollectingOutput) -> [JSONValue] {
        output.messages.filter { $0["type"] == "Ack" || $0["type"] == "Error" }
    }

    private func logLines(_ directory: TemporaryDirectory) -> Int {
        directory.read("default/log.jsonl")?.split(separator: "\n").count ?? 0
    }

    @Test func aStringOverTheLimitIsRefusedAndOneAtTheLimitAccepted() async throws {
        let directory = TemporaryDirectory()
        let engine = try await engine(directory, DocumentLimits(maximumStringBytes: 100))
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        engine.send(#"{"type":"ChangeName","id":1,"name":"\#(String(repeating: "é", count: 50))"}"#, from: session)
        engine.send(#"{"type":"ChangeName","id":2,"name":"\#(String(repeating: "é", count: 51))"}"#, from: session)
        engine.send(#"{"type":"ChangeName","id":3,"name":"x","\#(String(repeating: "k", count: 101))":1}"#, from: session)
        try await engine.settle()
        let answers = replies(output)
        #expect(answers.map { $0["type"] } == ["Ack", "Error", "Error"])
        #expect(answers[1]["code"] == "string_too_long" && answers[2]["code"] == "string_too_long")
        #expect(answers[1]["message"]?.stringValue?.contains("102 bytes") == true)
        #expect(logLines(directory) == 1)
        await engine.shutdown()
    }

    @Test func aDocumentStopsGrowingAtItsLimitButMayShrink() async throws {
        let directory = TemporaryDirectory()
        let engine = try await engine(directory, DocumentLimits(maximumDocumentBytes: 1_000))
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        for id in 1...40 {
            engine.send(#"{"type":"Add","id":\#(id),"row":{"name":"row number \#(id)","completed":false}}"#, from: session)
        }
        try await engine.settle()
        let answers = replies(output)
        let accepted = answers.prefix { $0["type"] == "Ack" }.count
        #expect(accepted > 10 && accepted < 40)
        #expect(answers[accepted...].allSatisfy { $0["code"] == "document_too_large" })
        let state = try await engine.state(of: .default)
        #expect(state.version == UInt64(accepted))
        #expect(try JSONCodec.encode(state.state).count <= 1_000)
        #expect(logLines(directory) == accepted)

        engine.send(#"{"type":"Remove","id":"r","index":1}"#, from: session)
        engine.send(#"{"type":"Add","id":"a","row":{"name":"x","completed":false}}"#, from: session)
        try await engine.settle()
        #expect(replies(output).suffix(2).map { $0["type"] } == ["Ack", "Ack"])
        await engine.shutdown()
    }

    @Test func rowsStopAtTheMemberLimit() async throws {
        let directory = TemporaryDirectory()
        let engine = try await engine(directory, DocumentLimits(maximumMembers: 3))
        let output = CollectingOutput()
        let session = engine.connect(document: .default, since: nil, role: .editor, output: output)
        for id in 1...4 {
            engine.send(#"{"type":"Add","id":\#(id),"row":{"name":"r","completed":false}}"#, from: session)
        }
        engine.send(#"{"type":"Update","id":5,"index":2,"row":{"name":"s","completed":true}}"#, from: session)
        try await engine.settle()
        let answers = replies(output)
        #expect(answers.map { $0["type"] } == ["Ack", "Ack", "Ack", "Error", "Ack"])
        #expect(answers[3]["code"] == "too_many_members")
        #expect(try await engine.state(of: .default).state["todos"]?.objectValue?.count == 3)
        await engine.shutdown()
    }

    @Test func theDefaultsAdmitTheBenchmarksHundredThousandRows() {
        var rows = JSONObject()
        for index in 1...100_000 {
            rows[String(index)] = ["name": .string("item number \(index) of the list"), "completed": false]
        }
        let size = StateSize(of: ["name": "a large list", "todos": .object(rows)])
        let limits = DocumentLimits()
        #expect(size.largestContainer == 100_000)
        #expect(size.bytes < limits.maximumDocumentBytes)
        #expect(size.largestContainer < limits.maximumMembers)
    }

    /// The size kept after each change equals a full measure of the new state.
    @Test func theSizeFollowsEachChangeExactly() throws {
        var random = SystemRandomNumberGenerator()
        var state = TodoList.initialState
        var json = TodoList.jsonValue(of: state)
        var size = StateSize(of: json)
        for _ in 0..<1_000 {
            let index = TodoIndex(random.next() % 20)
            let row = TodoRow(name: String(repeating: "n", count: Int(random.next() % 9)), completed: random.next() % 2 == 0)
            let action: TodoAction = [
                .add(row), .update(index: index, row: row), .remove(index: index), .changeName("list \(random.next() % 100)"),
                .removeCompleted,
            ][Int(random.next() % 5)]
            try TodoList.reduce(&state, action)
            let next = TodoList.jsonValue(of: state, updating: json, after: action)
            let patch = try JSONPatch.diff(from: json, to: next)
            size = size.updated(by: patch, from: json, to: next).size
            #expect(size.bytes == StateSize(of: next).bytes)
            // Names need no escapes here, so the estimate is the text's length.
            #expect(size.bytes == (try JSONCodec.encode(next).count))
            json = next
        }
    }
}
