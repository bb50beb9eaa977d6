import ArgumentParser
import Logging
import PostgresStore
import SyncEngine
import TodoModel

/// `patchsync import --data DIR --database URL`: moving up from one box to a shared database.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Copy every document of a data directory (snapshot, log, versions) into a PostgreSQL database.",
        discussion: """
            Each document is copied in one transaction and keeps its versions, so clients can \
            resume across the move. A document that already exists in the database is refused and \
            left as it is (exit status 1); the others are still copied. The files are only read: \
            stop the server first, so that nothing is written meanwhile. --database may also come \
            from PATCHSYNC_DATABASE.
            """)

    @Option(help: "The data directory to copy from.")
    var data: String = "./data"

    @Option(help: "A libpq connection string or postgresql:// URL. (default: $PATCHSYNC_DATABASE)")
    var database: String?

    @Option(help: "The schema holding patchsync's tables; created if missing.")
    var databaseSchema: String = "patchsync"

    func validate() throws {
        guard PostgresStoreConfiguration.isValidSchemaName(databaseSchema) else {
            throw ValidationError(
                "--database-schema: '\(databaseSchema)' must be lower-case letters, digits and _ (at most 63)")
        }
    }

    func run() throws {
        var logger = Logger(label: "patchsync.import") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        guard let url = database ?? OptionSources.environmentValue("DATABASE") else {
            throw ValidationError("--database (or PATCHSYNC_DATABASE) is required")
        }
        let documents: [ExportedDocument]
        let store: PostgresDocumentStore
        do {
            documents = try SyncEngine<TodoList>.exportDocuments(dataDirectory: data, logger: logger)
            store = try PostgresDocumentStore(configuration: .init(url: url, schema: databaseSchema), logger: logger)
            try store.migrate()
        } catch {
            printError("import", "\(error)")
            throw ExitCode(1)
        }
        defer { store.shutdown() }
        var refused = 0
        for document in documents {
            do {
                try store.importDocument(document)
                print("imported \(document.name) at version \(document.version)")
            } catch {
                printError("import", "\(error)")
                refused += 1
            }
        }
        if refused > 0 { throw ExitCode(1) }
    }
}
