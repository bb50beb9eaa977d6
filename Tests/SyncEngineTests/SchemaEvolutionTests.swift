@testable import FileStore
import EngineTestSupport
import Foundation
import JSONCodec
import JSONPatch
import Testing

@testable import SyncEngine

/// A bookshelf as first released: a title and a list of books.
enum ShelfV1: DocumentModel {
    struct State: Codable, Sendable {
        var title: String
        var books: [String]
    }

    /// `{"type":"Title"|"Book","text":..}`
    struct Action: Codable, Sendable {
        let type: String
        let text: String
    }

    static var initialState: State { State(title: "", books: []) }
    static var stateKey: String { "shelf" }
    static var schemaVersion: Int { 1 }

    static func reduce(_ state: inout State, _ action: Action) throws(ActionRejected) {
        switch action.type {
        case "Title": state.title = action.text
        case "Book": state.books.append(action.text)
        default: throw ActionRejected(.unknownType, "unknown action type \(action.type)")
        }
    }
}

/// The same shelf one release later: `title` is renamed `heading`, and `wood` is new (default "oak").
enum ShelfV2: DocumentModel {
    struct State: Codable, Sendable, Equatable {
        var heading: String
        var books: [String]
        var wood: String
    }

    /// `{"type":"Heading"|"Book"|"Wood","text":..}`
    struct Action: Codable, Sendable {
        let type: String
        let text: String
    }

    static var initialState: State { State(heading: "", books: [], wood: "oak") }
    static var stateKey: String { "shelf" }
    static var schemaVersion: Int { 2 }

    static var migrations: [SchemaMigration] {
        [
            SchemaMigration(from: 1, initialState: ["title": "", "books": []]) { old in
                guard case .object(var shelf) = old else { throw MigrationFailure() }
                shelf["heading"] = shelf.removeValue(forKey: "title") ?? ""
                shelf["wood"] = "oak"
                return .object(shelf)
            }
        ]
    }

    static func reduce(_ state: inout State, _ action: Action) throws(ActionRejected) {
        switch action.type {
        case "Heading": state.heading = action.text
        case "Book": state.books.append(action.text)
        case "Wood": state.wood = action.text
        default: throw ActionRejected(.unknownType, "unknown action type \(action.type)")
        }
    }

    struct MigrationFailure: Error {}
}

/// ShelfV2 declaring schema 3 without a migration to it.
enum ShelfWithoutMigration: DocumentModel {
    typealias State = ShelfV2.State
    typealias Action = ShelfV2.Action
    static var initialState: State { ShelfV2.initialState }
    static var stateKey: String { "shelf" }
    static var schemaVersion: Int { 3 }
    static var migrations: [SchemaMigration] { ShelfV2.migrations }
    static func reduce(_ state: inout State, _ action: Action) throws(ActionRejected) {}
}

/// Starts an engine on the file store: a migration at start-up appends and fsyncs on the
/// store's thread, not on the cooperative pool.
private func engine<Model: DocumentModel>(
    _ model: Model.Type, _ directory: TemporaryDirectory, retainedEvents: Int = 1000, snapshotInterval: Int = 1000
) async throws -> SyncEngine<Model> {
    let store = fileStore(directory, retainedEvents: retainedEvents, snapshotInterval: snapshotInterval)
    return try await SyncEngine<Model>(configuration: .init(store: store, retainedEvents: retainedEvents), logger: testLogger)
}

/// Writes three versions with ShelfV1: title "Novels", books "Emma" and "Kim".
private func writeV1(_ directory: TemporaryDirectory) async throws {
    let v1 = try await engine(ShelfV1.self, directory)
    let session = v1.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
    for action in [#"{"type":"Title","text":"Novels"}"#, #"{"type":"Book","text":"Emma"}"#, #"{"type":"Book","text":"Kim"}"#]
    {
        v1.send(action, from: session)
    }
    _ = try await v1.state(of: .default)
    await v1.shutdown()
}

@Suite struct SchemaEvolutionTests {
    @Test func logLinesAndSnapshotsCarryTheFormatAndSchema() async throws {
        let directory = TemporaryDirectory()
        try await writeV1(directory)
        let line = try json(String(try #require(directory.read("default/log.jsonl")?.split(separator: "\n").first)))
        #expect(line["format"] == .integer(Int64(StoredFormat.current)))
        #expect(line["schema"] == 1)
        let snapshot = try DocumentFiles.encodeSnapshot(version: 3, schema: 2, state: [:])
        #expect(try JSONCodec.decode(snapshot) == ["format": 2, "schema": 2, "version": 3, "state": [:]])
    }

    @Test func aDocumentWrittenByV1IsMigratedAtStartUpAsALoggedEvent() async throws {
        let directory = TemporaryDirectory()
        try await writeV1(directory)

        let v2 = try await engine(ShelfV2.self, directory)
        let current = try await v2.state(of: .default)
        #expect(current.version == 4)
        #expect(current.state == (try json(#"{"heading":"Novels","books":["Emma","Kim"],"wood":"oak"}"#)))
        let migration = try #require(try await v2.history(of: .default).last)
        #expect(migration.action == (try json(#"{"type":"Migrate","from":1,"to":2}"#)))
        #expect(migration.schema == 2)

        // A client resuming from before the migration gets it as a Patch, and can act at once.
        let output = CollectingOutput()
        let session = v2.connect(document: .default, since: 3, role: .editor, output: output)
        v2.send(#"{"type":"Wood","text":"pine","id":1}"#, from: session)
        _ = try await v2.state(of: .default)
        var mirror = try json(#"{"title":"Novels","books":["Emma","Kim"]}"#)
        for message in output.messages where message["type"] == "Patch" {
            mirror = try JSONPatch(json: message["ops"] ?? .null).apply(to: mirror)
        }
        #expect(mirror == (try json(#"{"heading":"Novels","books":["Emma","Kim"],"wood":"pine"}"#)))
        await v2.shutdown()

        // Restarting does not migrate again.
        let again = try await engine(ShelfV2.self, directory)
        #expect(try await again.state(of: .default).version == 5)
        await again.shutdown()
    }

    @Test func revertingToBeforeAMigrationMigratesTheOldState() async throws {
        let directory = TemporaryDirectory()
        try await writeV1(directory)
        let v2 = try await engine(ShelfV2.self, directory)
        let version = try await v2.revert(.default, to: 2)
        let reverted = try await v2.state(of: .default)
        #expect(reverted.version == version)
        #expect(reverted.state == (try json(#"{"heading":"Novels","books":["Emma"],"wood":"oak"}"#)))
        await v2.shutdown()
    }

    @Test func aSnapshotWrittenByV1IsMigratedToo() async throws {
        let directory = TemporaryDirectory()
        let v1 = try await engine(ShelfV1.self, directory, retainedEvents: 1, snapshotInterval: 1)
        let session = v1.connect(document: .default, since: nil, role: .editor, output: CollectingOutput())
        for book in ["a", "b", "c", "d"] { v1.send(#"{"type":"Book","text":"\#(book)"}"#, from: session) }
        _ = try await v1.state(of: .default)
        await v1.shutdown()
        #expect(try json(#require(directory.read("default/snapshot.json")))["schema"] == 1)

        let v2 = try await engine(ShelfV2.self, directory)
        #expect(try await v2.state(of: .default).state["books"] == ["a", "b", "c", "d"])
        await v2.shutdown()
    }

    @Test func dataWrittenBeforeFormatVersionsLoadsAndMigrates() async throws {
        let directory = TemporaryDirectory()
        // Lines as releases before format 2 wrote them: no "format", no "schema".
        try directory.write(
            "default/log.jsonl",
            #"{"version":1,"time":1,"action":{"type":"Title","text":"Old"},"ops":[{"op":"replace","path":"/title","value":"Old"}]}"#
                + "\n")
        let v2 = try await engine(ShelfV2.self, directory)
        #expect(try await v2.state(of: .default).state == (try json(#"{"heading":"Old","books":[],"wood":"oak"}"#)))
        await v2.shutdown()
    }

    @Test(arguments: [
        (#"{"format":3,"schema":1,"version":1,"time":1,"action":{"type":"Title","text":"x"},"ops":[]}"#, "format 3", "formats up to 2"),
        (#"{"format":2,"schema":3,"version":1,"time":1,"action":{"type":"Title","text":"x"},"ops":[]}"#, "schema 3", "schema 2"),
    ])
    func aNewerFormatOrSchemaRefusesToStartNamingBothVersionsAndTheFile(line: String, found: String, known: String)
        async throws
    {
        let directory = TemporaryDirectory()
        // The last line: a newer format must not pass for a torn tail.
        try directory.write("default/log.jsonl", line + "\n")
        do {
            _ = try await engine(ShelfV2.self, directory)
            Issue.record("start-up should fail")
        } catch let error as SyncEngineError {
            #expect(error.message.contains(directory.file("default/log.jsonl") + ":1"))
            #expect(error.message.contains(found), "\(error.message)")
            #expect(error.message.contains(known), "\(error.message)")
        }
        #expect(directory.read("default/log.jsonl") == line + "\n", "nothing is cut off")
    }

    @Test func aSnapshotInANewerFormatRefusesToStart() async throws {
        let directory = TemporaryDirectory()
        try directory.write("default/snapshot.json", #"{"format":9,"schema":1,"version":4,"state":{}}"#)
        await #expect(throws: SyncEngineError.self) { try await engine(ShelfV2.self, directory) }
    }

    @Test func aModelMustDeclareAMigrationFromEveryOlderSchema() async {
        await #expect(throws: SyncEngineError.self) { try await engine(ShelfWithoutMigration.self, TemporaryDirectory()) }
    }
}
