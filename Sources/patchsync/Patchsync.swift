import ArgumentParser
import CMalloc

/// The `patchsync` command line: one subcommand per job.
@main
struct Patchsync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patchsync",
        abstract: "Keep JSON state in sync with RFC 6902 JSON Patch.",
        subcommands: [ApplyCommand.self, DiffCommand.self, ServeCommand.self, WatchCommand.self, SendCommand.self, HistoryCommand.self, RevertCommand.self, ReplayCommand.self, ImportCommand.self]
    )

    static func main() async {
        // glibc gives each thread that allocates under contention an arena of its own, up to 8 per
        // core, each keeping freed memory resident; two cover the service thread and the pool
        // (about 0.8 MiB less at rest after 10,000 actions, see README: Benchmarks). glibc fixes
        // the limit when the first thread gets an arena, so it is set before any thread starts.
        mallopt(M_ARENA_MAX, 2)
        await main(nil)
    }
}
