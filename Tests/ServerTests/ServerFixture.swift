import FileStore
import Foundation
import JSONPatch
import Logging
import SyncClient
import SyncEngine
import SyncServer
import TodoModel

/// The real server on 127.0.0.1 and a free port: the Todo engine over a temporary data
/// directory, behind the libwebsockets bridge. `withServer` stops both and removes the directory.
final class ServerFixture: Sendable {
    let engine: SyncEngine<TodoList>
    let server: PatchsyncServer
    let port: Int
    let dataDirectory: String
    let logger: Logger

    init(configuration: ServerConfiguration = ServerConfiguration()) async throws {
        var logger = Logger(label: "ServerTests")
        logger.logLevel = .error
        self.logger = logger
        LibWebsocketsLog.route(to: logger)
        dataDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("patchsync-servertests-\(UUID().uuidString)").path
        let store = FileDocumentStore(configuration: .init(dataDirectory: dataDirectory), logger: logger)
        engine = try await SyncEngine<TodoList>(configuration: .init(store: store), logger: logger)
        var configuration = configuration
        configuration.listener = .tcp(host: "127.0.0.1", port: 0)
        server = PatchsyncServer(configuration: configuration, engine: engine, logger: logger)
        guard case .tcp(_, let port) = try await server.start() else {
            throw FixtureError("the server did not report a TCP port")
        }
        self.port = port
    }

    var url: String { "ws://127.0.0.1:\(port)/ws" }

    /// A client of the default document, connected (it holds the first Full when this returns).
    func connectedClient(path: String = "/ws", token: String? = nil, offersCompression: Bool = false) async throws
        -> SyncClient
    {
        var configuration = try SyncClient.Configuration(url: "ws://127.0.0.1:\(port)\(path)")
        configuration.bearerToken = token
        configuration.offersCompression = offersCompression
        let client = try SyncClient(configuration: configuration, logger: logger)
        try await client.connect()
        return client
    }

    func stop() async {
        await server.stop()
        await engine.shutdown()
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` against a fresh server and stops it afterwards, also when `body` throws.
func withServer(
    _ configuration: ServerConfiguration = ServerConfiguration(), _ body: (ServerFixture) async throws -> Void
) async throws {
    let fixture = try await ServerFixture(configuration: configuration)
    do {
        try await body(fixture)
    } catch {
        await fixture.stop()
        throw error
    }
    await fixture.stop()
}

/// A Todo row as the protocol writes it.
func row(_ name: String, completed: Bool = false) -> JSONValue {
    ["name": .string(name), "completed": .bool(completed)]
}
