/// How the PostgreSQL store connects and keeps its tables.
public struct PostgresStoreConfiguration: Sendable {
    /// A libpq connection string or `postgresql://` URL.
    public var url: String
    /// The schema holding patchsync's tables; created at start-up. Default `patchsync`.
    public var schema: String
    /// How often open documents compare their version with the table, healing missed
    /// notifications; also the sweep interval of the inbox. Default 5 s.
    public var checkInterval: Duration
    /// `documents.state` stays less than this many versions behind the latest one, or less than
    /// `stateLagTime` old: at half of either, a writer beside the commits stores a newer state
    /// (`PostgresStateWriter`). A document whose writes stopped is brought up to date by the
    /// listener within `stateLagTime` too. Defaults 100 and 1 s.
    public var stateLagVersions: UInt64
    public var stateLagTime: Duration

    public init(
        url: String, schema: String = "patchsync", checkInterval: Duration = .seconds(5),
        stateLagVersions: UInt64 = 100, stateLagTime: Duration = .seconds(1)
    ) {
        self.url = url
        self.schema = schema
        self.checkInterval = checkInterval
        self.stateLagVersions = max(1, stateLagVersions)
        self.stateLagTime = stateLagTime
    }

    /// Whether `schema` is a plain lower-case SQL identifier, safe to write into statements.
    public static func isValidSchemaName(_ name: String) -> Bool {
        guard let first = name.utf8.first, (1...63).contains(name.utf8.count) else { return false }
        let isLetter = { (byte: UInt8) in (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F }
        return isLetter(first) && name.utf8.allSatisfy { isLetter($0) || (0x30...0x39).contains($0) }
    }
}
