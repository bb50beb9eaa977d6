import EngineTestSupport
import FileStore
import Glibc
import JSONPatch
import Testing

@testable import SyncEngine

/// The file store through the `DocumentStore` API alone, as the engine (or an embedder's engine
/// of its own) uses it: no document actor, no model.
@Suite struct FileDocumentStoreTests {
    static let schemas = StoreSchemas(current: 1) { _ in .object([:]) }
    static let document = DocumentName("line-3")!

    /// Version `version` sets `/count` to `version`, on top of the one before.
    static func event(_ version: UInt64) -> DocumentEvent {
        DocumentEvent(
            version: version, time: 1_700_000_000_000 + Int64(version), action: .object(["type": "Count"]),
            ops: JSONPatch([.add(path: JSONPointer(tokens: ["count"]), value: .integer(Int64(version)))]))
    }

    static func commit(_ versions: ClosedRange<UInt64>) throws -> StoreCommit {
        let events = versions.map(event)
        return StoreCommit(
            name: document, startVersion: versions.lowerBound - 1, events: events,
            encodedEvents: try events.map { try $0.encodedLine() },
            state: .object(["count": .integer(Int64(versions.upperBound))]))
    }

    static func started(_ directory: TemporaryDirectory, readOnly: Bool = false) async throws -> FileDocumentStore {
        let store = fileStore(directory, readOnly: readOnly)
        try await store.start(initialState: .object([:]), schemas: schemas, onChange: { _ in })
        return store
    }

    @Test func committedEventsAreWhatTheNextStoreLoads() async throws {
        let directory = TemporaryDirectory()
        let store = try await Self.started(directory)
        #expect(try await store.load(Self.document) == nil, "a document with no change is not stored")
        #expect(try await store.append(Self.commit(1...2)) != .conflict)
        #expect(try await store.append(Self.commit(3...3)) != .conflict)
        store.shutdown()

        let reopened = try await Self.started(directory)
        let documents = try await reopened.loadDocuments()
        #expect(documents.map(\.name) == [Self.document])
        let loaded = try #require(documents.first)
        #expect(loaded.version == 3)
        #expect(loaded.state == .object(["count": .integer(3)]))
        #expect(loaded.recentEvents.map(\.version) == [1, 2, 3])
        reopened.shutdown()
    }

    @Test func eventsAfterAVersionComeOldestFirstWithinTheLimit() async throws {
        let directory = TemporaryDirectory()
        let store = try await Self.started(directory)
        _ = try await store.append(Self.commit(1...5))
        let events = try await store.events(of: Self.document, after: 1, limit: 2)
        #expect(events.events.map(\.version) == [2, 3])
        #expect(events.oldestVersion == 0)
        #expect(try await store.events(of: Self.document, after: 5, limit: 10).events.isEmpty)
        store.shutdown()
    }

    @Test func aPastStateIsRebuiltFromTheLog() async throws {
        let directory = TemporaryDirectory()
        let store = try await Self.started(directory)
        _ = try await store.append(Self.commit(1...4))
        guard case .available(let state, let schema) = try await store.state(of: Self.document, at: 2) else {
            Issue.record("version 2 is in the log")
            return
        }
        #expect(state == .object(["count": .integer(2)]))
        #expect(schema == 1)
        store.shutdown()
    }

    @Test func aReadOnlyStoreLoadsButRefusesToAppend() async throws {
        let directory = TemporaryDirectory()
        let writer = try await Self.started(directory)
        _ = try await writer.append(Self.commit(1...1))
        writer.shutdown()

        let reader = try await Self.started(directory, readOnly: true)
        #expect(try await reader.load(Self.document)?.version == 1)
        let error = await #expect(throws: StorageError.self) { try await reader.append(Self.commit(2...2)) }
        #expect(error?.kind == .io(errno: EROFS))
        #expect(error?.path == directory.path)
        reader.shutdown()
        #expect(directory.read("line-3/log.jsonl")?.split(separator: "\n").count == 1, "nothing was written")
    }
}
