import ArgumentParser

/// `patchsync history URL --doc NAME [--since V] [--limit N | --latest N]`: prints a document's events.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Print a document's retained events from a patchsync server's HTTP API.",
        discussion: """
            Prints {"events":[{"version":N,"time":MS,"action":{...},"ops":[...]},...]}. With --limit N \
            (or neither option): the first N events after --since, oldest first, so --limit 1 is the \
            oldest retained event. With --latest N: the N newest events (after --since), newest first, \
            so --latest 1 is the latest change. Exit status: 0 on success; 1 when the server refuses \
            (e.g. unknown document); 2 when the server cannot be reached.
            """)

    @OptionGroup var api: APIClientOptions

    @Option(help: "Only events after this version.")
    var since: UInt64?

    @Option(help: "At most this many events, oldest first (the server's default and cap apply).")
    var limit: UInt64?

    @Option(help: "The newest this many events, newest first (the server's cap applies).")
    var latest: UInt64?

    func validate() throws {
        if limit != nil && latest != nil {
            throw ValidationError("give --limit (the oldest events first) or --latest (the newest first), not both")
        }
    }

    func run() throws {
        var query: [String] = []
        if let since { query.append("since=\(since)") }
        if let limit { query.append("limit=\(limit)") }
        if let latest { query.append(contentsOf: ["order=desc", "limit=\(latest)"]) }
        let path = api.documentPath + "/history" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        try api.call("history", "GET", path: path)
    }
}
