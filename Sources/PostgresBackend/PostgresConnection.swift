import CLibpq
import Glibc

/// One libpq connection, used by one thread at a time (libpq connections are not thread-safe;
/// hence `@unchecked Sendable`: it is handed between threads, never shared).
/// Every call blocks until the server answers: callers run it on a `StorageThread` or the
/// listener's thread, never on the transport's service thread or the Swift cooperative pool.
final class PostgresConnection: @unchecked Sendable {
    private let connection: OpaquePointer

    /// How long connecting may take, unless the URL (`connect_timeout=`) or `PGCONNECT_TIMEOUT`
    /// says otherwise: libpq alone waits as long as the kernel does (about two minutes for an
    /// unreachable host, forever for one that accepts and stays silent), holding the thread.
    static var defaultConnectTimeoutSeconds: Int { 10 }

    /// Connects to `url` (a libpq connection string or `postgresql://` URL). `role` names the
    /// connection in `pg_stat_activity.application_name` ("patchsync listener"), unless the URL sets one.
    init(url: String, role: String) throws(PostgresError) {
        try Self.loadLibrary()
        // Later keywords override earlier ones, and `dbname` expands into the URL's settings:
        // the default timeout comes first so that the URL's own wins.
        var settings = [("application_name", "patchsync \(role)"), ("dbname", url)]
        if getenv("PGCONNECT_TIMEOUT") == nil {
            settings.insert(("connect_timeout", "\(Self.defaultConnectTimeoutSeconds)"), at: 0)
        }
        // Both lists end with NULL.
        let opened = Self.withCStrings(settings.map(\.0) + [nil]) { keywords in
            Self.withCStrings(settings.map(\.1) + [nil]) { values in patchsync_PQconnectdbParams(keywords, values, 1) }
        }
        guard let connection = opened else {
            throw PostgresError(.connection, "cannot allocate a PostgreSQL connection")
        }
        guard patchsync_PQstatus(connection) == CONNECTION_OK else {
            let message = Self.text(patchsync_PQerrorMessage(connection))
            patchsync_PQfinish(connection)
            throw PostgresError(.connection, "cannot connect to PostgreSQL: \(message)")
        }
        patchsync_pq_silence_notices(connection)
        self.connection = connection
    }

    deinit {
        patchsync_PQfinish(connection)
    }

    var isBroken: Bool { patchsync_PQstatus(connection) != CONNECTION_OK }

    /// Whether the connection still works, without a round trip: reads what the server sent
    /// meanwhile, so a server that restarted or ended the session is noticed before the next
    /// statement instead of failing it. Reads until the socket has nothing more: a server that
    /// shuts down sends its FATAL message and then closes, and libpq stops reading after the
    /// message, still "OK", until it is asked again and meets the end of the stream.
    var isAlive: Bool {
        for _ in 0..<Self.maximumReadsPerCheck {
            guard !isBroken else { return false }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0 else { return true }
            guard patchsync_PQconsumeInput(connection) == 1 else { return false }
        }
        return !isBroken
    }

    /// Bounds `isAlive` on a connection that keeps receiving (a flood of notifications).
    private static var maximumReadsPerCheck: Int { 16 }

    /// The socket to poll for notifications.
    var socket: Int32 { patchsync_PQsocket(connection) }

    /// Runs one statement with text parameters (`$1`, `$2`, ...; nil is NULL) and returns its rows.
    @discardableResult
    func execute(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresRows {
        try rows(
            of: Self.withCStrings(parameters) { values in
                patchsync_PQexecParams(connection, sql, Int32(parameters.count), nil, values, nil, nil, 0)
            })
    }

    /// Runs several statements without parameters (a migration).
    func executeScript(_ sql: String) throws(PostgresError) {
        _ = try rows(of: patchsync_PQexec(connection, sql))
    }

    /// Runs several statements without parameters in one round trip; the last one's rows.
    /// Under READ COMMITTED each statement sees what committed before it started.
    func queryScript(_ sql: String) throws(PostgresError) -> PostgresRows {
        try rows(of: patchsync_PQexec(connection, sql))
    }

    /// Copies the rows out of `result` and frees it, or throws what went wrong.
    private func rows(of result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let result else { throw brokenOrFailed("no result") }
        defer { patchsync_PQclear(result) }
        switch patchsync_PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            return PostgresRows(result)
        default:
            let message = Self.text(patchsync_PQresultErrorMessage(result))
            if isBroken { throw brokenOrFailed(message) }
            let sqlState = patchsync_PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let constraint = patchsync_PQresultErrorField(result, Int32(UInt8(ascii: "n"))).map { String(cString: $0) }
            // The server ending the session (57P01 admin_shutdown during `pg_ctl restart`, 57P02,
            // 57P03) or a connection exception (class 08) is the connection breaking, not the
            // statement failing: it is replaced, and the outage is not taken for over.
            if let sqlState, sqlState.hasPrefix("57P") || sqlState.hasPrefix("08") {
                throw PostgresError(.connection, "lost the connection to PostgreSQL: \(message)")
            }
            throw PostgresError(.statement(sqlState: sqlState ?? "?????"), message, constraint: constraint)
        }
    }

    /// Notifications read from the socket so far (`LISTEN`): reads what has arrived without blocking.
    func notifications() throws(PostgresError) -> [(channel: String, payload: String)] {
        guard patchsync_PQconsumeInput(connection) == 1 else { throw brokenOrFailed("cannot read from the server") }
        var received: [(channel: String, payload: String)] = []
        while let notify = patchsync_PQnotifies(connection) {
            received.append((String(cString: notify.pointee.relname), String(cString: notify.pointee.extra)))
            patchsync_PQfreemem(notify)
        }
        return received
    }

    private func brokenOrFailed(_ detail: String) -> PostgresError {
        let message = Self.text(patchsync_PQerrorMessage(connection))
        return PostgresError(.connection, "lost the connection to PostgreSQL: \(message.isEmpty ? detail : message)")
    }

    private static func loadLibrary() throws(PostgresError) {
        var error = [CChar](repeating: 0, count: 512)
        guard patchsync_pq_load(&error, error.count) == 0 else {
            throw PostgresError(.library, String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }

    private static func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        var text = String(cString: pointer)
        while text.last == "\n" { text.removeLast() }
        return text
    }

    private static func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers.map { $0.map { UnsafePointer($0) } })
    }
}

/// The rows of one result, copied out of libpq.
struct PostgresRows {
    private(set) var rows: [[String?]] = []
    /// Rows changed by an INSERT, UPDATE or DELETE.
    let affected: Int

    fileprivate init(_ result: OpaquePointer) {
        affected = Int(String(cString: patchsync_PQcmdTuples(result))) ?? 0
        let count = patchsync_PQntuples(result)
        let fields = patchsync_PQnfields(result)
        for row in 0..<count {
            rows.append(
                (0..<fields).map { field in
                    patchsync_PQgetisnull(result, row, field) == 1
                        ? nil : String(cString: patchsync_PQgetvalue(result, row, field))
                })
        }
    }
}
