import ArgumentParser
import JSONCodec
import JSONPatch
import FileStore
import Logging
import SyncEngine
import TodoModel

/// `patchsync replay --data DIR --doc NAME --to V`: the state at a version, read from the files.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Print a document's state at a version, read offline from a data directory.",
        discussion: """
            Changes no file, so it is safe beside a running server. Prints \
            {"version":V,"state":{...}}, like GET /api/docs/NAME. Versions older than the retained \
            history (see the server's retention policy) are not available. Exit status: 0 on \
            success; 1 when the document or version does not exist or the files are damaged.
            """)

    @Option(help: "The server's data directory.")
    var data: String = "./data"

    @Option(help: "The document's name.")
    var doc: String = DocumentName.default.rawValue

    @Option(help: "The version to rebuild. (default: the latest)")
    var to: UInt64?

    func validate() throws {
        guard DocumentName(doc) != nil else {
            throw ValidationError("--doc: '\(doc)' is not a document name (1 to 64 letters, digits, - or _)")
        }
    }

    func run() async throws {
        var logger = Logger(label: "patchsync.replay") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        guard let name = DocumentName(doc) else { throw ExitCode(2) }
        do {
            let store = FileDocumentStore(configuration: .init(dataDirectory: data, readOnly: true), logger: logger)
            let result = try await SyncEngine<TodoList>.replay(from: store, document: name, to: to)
            let output: JSONValue = ["version": .integer(Int64(clamping: result.version)), "state": result.state]
            print(try JSONCodec.encodeString(output))
        } catch {
            printError("replay", "\(error)")
            throw ExitCode(1)
        }
    }
}
