/// A failure talking to PostgreSQL: the connection (could not connect, lost) or one statement.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// libpq could not be loaded.
        case library
        /// No connection, or it broke: the server is down, restarting or out of reach.
        case connection
        /// The server refused a statement; `sqlState` says why (e.g. 23505 unique violation).
        case statement(sqlState: String)
        /// A document was written by a newer release, at a schema this binary does not know.
        case newerSchema
    }

    public let kind: Kind
    public let message: String
    /// The constraint a statement violated, when PostgreSQL names one.
    public let constraint: String?

    public init(_ kind: Kind, _ message: String, constraint: String? = nil) {
        self.kind = kind
        self.message = message
        self.constraint = constraint
    }

    public var description: String {
        switch kind {
        case .library, .connection, .newerSchema: message
        case .statement(let sqlState): "\(message) (SQLSTATE \(sqlState))"
        }
    }
}
