import EngineTestSupport
import FileStore
import Foundation
import JSONPatch
import Testing

@testable import SyncEngine
@testable import TodoModel

/// Documents come into memory when used and leave it when nobody uses them.
@Suite struct DocumentLifecycleTests {
    private func engine(
        _ directory: TemporaryDirectory, maximumDocuments: Int = 1000, idle: Duration = .seconds(120)
    ) async throws -> TodoEngine {
        try await TodoEngine(
            configuration: .init(
                store: fileStore(directory), maximumDocuments: maximumDocuments, idleUnloadDelay: idle),
            logger: testLogger)
    }

    private func name(_ text: String) throws -> DocumentName { try #require(DocumentName(text)) }

    /// Waits until the engine holds `count` documents in memory (unloading follows the
    /// last disconnect asynchronously).
    private func loaded(_ engine: TodoEngine, becomes count: Int) async throws -> Bool {
        for _ in 0..<500 {
            if engine.metricsSnapshot().documentsLoaded == count { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test func documentsNobodyChangedLeaveMemoryWithTheirLastSession() async throws {
        let directory = TemporaryDirectory()
        let engine = try await engine(directory)
        var sessions: [SessionID] = []
        for index in 0..<300 {
            sessions.append(
                engine.connect(document: try name("doc\(index)"), since: nil, role: .editor, output: CollectingOutput()))
        }
        #expect(engine.metricsSnapshot().documentsLoaded == 300)
        #expect(await engine.documents().isEmpty)
        for session in sessions { engine.disconnect(session) }
        #expect(try await loaded(engine, becomes: 0))
        #expect(await engine.documents().isEmpty)
        await #expect(throws: SyncEngineError.self) { try await engine.state(of: try name("doc1")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        await engine.shutdown()
    }

    @Test func aDocumentExistsOnceItHasItsFirstChange() async throws {
        let directory = TemporaryDirectory()
        let engine = try await engine(directory)
        let output = CollectingOutput()
        let session = engine.connect(document: try name("shop"), since: nil, role: .editor, output: output)
        engine.send(#"{"type":"ChangeName","name":"Shop"}"#, from: session)
        try await engine.settle(try name("shop"))
        engine.disconnect(session)
        #expect(await engine.documents().map(\.version) == [1])
        #expect(try await engine.state(of: try name("shop")).state["name"] == "Shop")
        await engine.shutdown()
    }

    @Test func overTheLimitNewDocumentsAreRefusedUntilOneLeaves() async throws {
        let directory = TemporaryDirectory()
        let engine = try await engine(directory, maximumDocuments: 2)
        let first = engine.connect(document: try name("a"), since: nil, role: .editor, output: CollectingOutput())
        _ = engine.connect(document: try name("b"), since: nil, role: .editor, output: CollectingOutput())
        #expect(engine.refusal(forConnectingTo: try name("a")) == nil)
        #expect(engine.refusal(forConnectingTo: try name("c"))?.code == .tooManyDocuments)

        let refused = CollectingOutput()
        _ = engine.connect(document: try name("c"), since: nil, role: .editor, output: refused)
        #expect(refused.messages.first?["code"] == "too_many_documents")
        #expect(refused.closeCodes == [.tryAgainLater])
        #expect(engine.metricsSnapshot().rejected[.tooManyDocuments] == 1)

        engine.disconnect(first)
        #expect(try await loaded(engine, becomes: 1))
        #expect(engine.refusal(forConnectingTo: try name("c")) == nil)
        let admitted = CollectingOutput()
        _ = engine.connect(document: try name("c"), since: nil, role: .editor, output: admitted)
        try await engine.settle(try name("c"))
        #expect(types(admitted.messages) == ["Full"])
        await engine.shutdown()
    }

    @Test func idleDocumentsUnloadAndReloadOnDemandWithTheirHistory() async throws {
        let directory = TemporaryDirectory()
        let engine = try await engine(directory, idle: .milliseconds(50))
        let shop = try name("shop")
        let output = CollectingOutput()
        let session = engine.connect(document: shop, since: nil, role: .editor, output: output)
        engine.send(#"{"type":"Add","row":{"name":"milk","completed":false}}"#, from: session)
        engine.send(#"{"type":"ChangeName","name":"Shop"}"#, from: session)
        try await engine.settle(shop)
        let before = try await engine.state(of: shop)
        let changed = try await engine.history(of: shop).last?.time
        engine.disconnect(session)
        #expect(try await loaded(engine, becomes: 0))
        // Listed with the time of its latest change and its title, without loading it.
        #expect(await engine.documents() == [DocumentSummary(name: shop, version: 2, changed: changed, title: "Shop")])
        #expect(engine.metricsSnapshot().documentsLoaded == 0)
        #expect(engine.metricsSnapshot().documentVersions[shop] == 2)

        // A request brings it back, as it was.
        #expect(try await engine.state(of: shop) == before)
        #expect(try await engine.history(of: shop).count == 2)
        #expect(try await loaded(engine, becomes: 0))

        // So does a session, which can resume.
        let resumed = CollectingOutput()
        let again = engine.connect(document: shop, since: 1, role: .editor, output: resumed)
        engine.send(#"{"type":"RemoveCompleted","id":1}"#, from: again)
        engine.send(#"{"type":"Remove","id":2,"index":1}"#, from: again)
        try await engine.settle(shop)
        #expect(types(resumed.messages) == ["Patch", "Ack", "Patch", "Ack"])
        #expect(resumed.messages.last == ["type": "Ack", "id": 2, "version": 3])
        await engine.shutdown()
    }

    @Test func startUpKeepsAtMostTheLimitInMemoryAndListsEveryDocument() async throws {
        let directory = TemporaryDirectory()
        let writer = try await engine(directory)
        for text in ["a", "b", "c"] {
            let session = writer.connect(document: try name(text), since: nil, role: .editor, output: CollectingOutput())
            writer.send(#"{"type":"ChangeName","name":"\#(text)"}"#, from: session)
            try await writer.settle(try name(text))
        }
        await writer.shutdown()

        let engine = try await engine(directory, maximumDocuments: 1)
        #expect(engine.metricsSnapshot().documentsLoaded == 1)
        #expect(await engine.documents().map(\.name.rawValue) == ["a", "b", "c"])
        let error = await #expect(throws: SyncEngineError.self) { try await engine.state(of: try name("c")) }
        #expect(error?.kind == .tooManyDocuments)
        await engine.shutdown()

        // Loaded at start-up and never used, "a" leaves memory after the idle delay too.
        let idling = try await self.engine(directory, maximumDocuments: 1, idle: .milliseconds(50))
        #expect(try await loaded(idling, becomes: 0))
        #expect(try await idling.state(of: try name("c")).state["name"] == "c")
        await idling.shutdown()
    }

    @Test func aDocumentWhoseFilesWereDamagedWhileUnloadedRefusesClearlyAndRecoversOnceRepaired() async throws {
        let directory = TemporaryDirectory()
        let engine = try await engine(directory, idle: .milliseconds(50))
        let shop = try name("shop")
        let session = engine.connect(document: shop, since: nil, role: .editor, output: CollectingOutput())
        engine.send(#"{"type":"ChangeName","name":"Shop"}"#, from: session)
        try await engine.settle(shop)
        engine.disconnect(session)
        #expect(try await loaded(engine, becomes: 0))
        let intact = try #require(directory.read("shop/log.jsonl"))
        try directory.write("shop/log.jsonl", "{\"version\":1,\"oops\"\n" + intact)

        let error = await #expect(throws: SyncEngineError.self) { try await engine.state(of: shop) }
        #expect(error?.kind == .corruptData)
        #expect(error?.message.contains(directory.file("shop/log.jsonl")) == true)
        let refused = CollectingOutput()
        let refusedSession = engine.connect(document: shop, since: nil, role: .editor, output: refused)
        for _ in 0..<200 where refused.closeCodes.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(refused.messages.first?["code"] == "storage_unavailable")
        #expect(refused.closeCodes == [.tryAgainLater])
        #expect(await engine.documents().map(\.version) == [1])

        // Once its last session is gone, the next request reads the files again.
        engine.disconnect(refusedSession)
        try directory.write("shop/log.jsonl", intact)
        for _ in 0..<200 {
            if (try? await engine.state(of: shop)) != nil { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(try await engine.state(of: shop).state["name"] == "Shop")
        await engine.shutdown()
    }
}
