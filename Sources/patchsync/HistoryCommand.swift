import ArgumentParser

/// `patchsync history URL --doc NAME [--since V] [--limit N]`: prints a document's events.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Print a document's retained events from a patchsync server's HTTP API.",
        discussion: """
            Prints {"events":[{"version":N,"time":MS,"action":{...},"ops":[...]},...]}, oldest first, \
            for the versions after --since. Exit status: 0 on success; 1 when the server refuses \
            (e.g. unknown document); 2 when the server cannot be reached.
            """)

    @OptionGroup var api: APIClientOptions

    @Option(help: "Only events after this version.")
    var since: UInt64?

    @Option(help: "At most this many events (the server's default and cap apply).")
    var limit: UInt64?

    func run() throws {
        var query: [String] = []
        if let since { query.append("since=\(since)") }
        if let limit { query.append("limit=\(limit)") }
        let path = api.documentPath + "/history" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        try api.call("history", "GET", path: path)
    }
}
