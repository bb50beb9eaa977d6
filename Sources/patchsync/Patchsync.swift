import ArgumentParser

/// The `patchsync` command line: one subcommand per job.
@main
struct Patchsync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patchsync",
        abstract: "Keep JSON state in sync with RFC 6902 JSON Patch.",
        subcommands: [ApplyCommand.self, DiffCommand.self, ServeCommand.self, WatchCommand.self, SendCommand.self, HistoryCommand.self, RevertCommand.self, ReplayCommand.self, ImportCommand.self]
    )
}
