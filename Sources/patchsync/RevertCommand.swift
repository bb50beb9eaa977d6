import ArgumentParser
import JSONPatch

/// `patchsync revert URL --doc NAME --to V`: returns a document to its state at version V.
struct RevertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revert",
        abstract: "Return a document to its state at a version, through a patchsync server's HTTP API.",
        discussion: """
            The server appends the revert as a new event and broadcasts it, so history is kept and \
            the revert can itself be reverted. Prints {"version":N}, the version after the revert. \
            Exit status: 0 on success; 1 when the server refuses (unknown document, version outside \
            the retained history, storage failing); 2 when the server cannot be reached.
            """)

    @OptionGroup var api: APIClientOptions

    @Option(help: "The version whose state to return to.")
    var to: UInt64

    func validate() throws {
        guard to <= UInt64(Int64.max) else { throw ValidationError("--to is too large") }
    }

    func run() throws {
        try api.call("revert", "POST", path: api.documentPath + "/revert", body: ["version": .integer(Int64(to))])
    }
}
