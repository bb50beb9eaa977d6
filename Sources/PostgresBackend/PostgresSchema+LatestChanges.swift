import SyncEngine

extension PostgresSchema {
    /// Every document's version and the time of its latest event, in one statement (one
    /// snapshot): the list of documents without reading any state.
    func latestChanges(_ connection: PostgresConnection) throws(PostgresError) -> [DocumentName: LatestChange] {
        let rows = try connection.execute(
            """
            SELECT d.name, d.version, (extract(epoch FROM e.time) * 1000)::bigint FROM \(name).documents AS d
            LEFT JOIN \(name).events AS e ON e.document = d.name AND e.version = d.version
            """
        ).rows
        var changes: [DocumentName: LatestChange] = [:]
        for row in rows {
            guard let document = row[0].flatMap({ DocumentName($0) }), let version = row[1].flatMap({ UInt64($0) })
            else { continue }
            changes[document] = LatestChange(version: version, time: row[2].flatMap { Int64($0) })
        }
        return changes
    }
}
