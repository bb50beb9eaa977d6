import ArgumentParser
import FileStore
import Logging
import PostgresBackend
import SyncEngine
import TodoModel

/// `patchsync import --data DIR --database URL`: moving up from one box to a shared database.
struct ImportCommand: AsyncParsableCommand {
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

    @Option(help: "The schema holding patchsync's tables; created if missing. (default: $PATCHSYNC_DATABASE_SCHEMA, else patchsync)")
    var databaseSchema: String?

    /// As `serve` reads it, so that both name the same tables.
    private var schema: String {
        databaseSchema ?? OptionSources.environmentValue("DATABASE_SCHEMA") ?? "patchsync"
    }

    func validate() throws {
        guard PostgresStoreConfiguration.isValidSchemaName(schema) else {
            throw ValidationError(
                "--database-schema: '\(schema)' must be lower-case letters, digits and _ (at most 63)")
        }
    }

    func run() async throws {
        var logger = Logger(label: "patchsync.import") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        guard let url = database ?? OptionSources.environmentValue("DATABASE") else {
            throw ValidationError("--database (or PATCHSYNC_DATABASE) is required")
        }
        let documents: [ExportedDocument]
        let store: PostgresDocumentStore
        do {
            let files = FileDocumentStore(configuration: .init(dataDirectory: data, readOnly: true), logger: logger)
            documents = try await SyncEngine<TodoList>.exportDocuments(from: files)
            store = try PostgresDocumentStore(configuration: .init(url: url, schema: schema), logger: logger)
            try store.migrate()
        } catch {
            printError("import", "\(error)")
            throw ExitCode(1)
        }
        defer { store.shutdown() }
        var existing: [String] = []
        var failed = 0
        for document in documents {
            do throws(StorageError) {
                try store.importDocument(document)
                print("imported \(document.name) at version \(document.version)")
            } catch where error.kind == .alreadyExists {
                printError("import", "\(error)")
                existing.append(document.name.rawValue)
            } catch {
                printError("import", "\(error)")
                failed += 1
            }
        }
        if !existing.isEmpty {
            printError("import", Self.explainConflict(existing, schema: schema))
        }
        if failed > 0 || !existing.isEmpty { throw ExitCode(1) }
    }

    /// What to do when documents of the same name are already in the database, typically because
    /// a server ran against it first (the first change of `default` creates it).
    static func explainConflict(_ names: [String], schema: String) -> String {
        let list = names.map { "'\($0)'" }.joined(separator: ", ")
        return """
            \(list) already \(names.count == 1 ? "exists" : "exist") in schema '\(schema)' of the database \
            (a server that ran against it creates a document with its first change), and import never \
            overwrites one. To keep both, import into a schema of its own and serve from it: \
            patchsync import --data DIR --database URL --database-schema NAME, then \
            patchsync serve --database URL --database-schema NAME (or PATCHSYNC_DATABASE_SCHEMA=NAME). \
            If everything in schema '\(schema)' is disposable: DROP SCHEMA \(schema) CASCADE in SQL, \
            then import again.
            """
    }
}
