import ArgumentParser
import CMalloc
import Glibc

/// The `patchsync` command line: one subcommand per job.
@main
struct Patchsync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patchsync",
        abstract: "Keep JSON state in sync with RFC 6902 JSON Patch.",
        subcommands: [ApplyCommand.self, DiffCommand.self, ServeCommand.self, WatchCommand.self, SendCommand.self, HistoryCommand.self, RevertCommand.self, ReplayCommand.self, ImportCommand.self, ValidateCommand.self]
    )

    static func main() async {
        // glibc gives each thread that allocates under contention an arena of its own, up to 8 per
        // core, each keeping freed memory resident and its own fragments. One arena for every
        // thread holds 0.3-0.5 MiB less at rest after 10,000 actions than two, with no measurable
        // cost in CPU per delivered change (docs/decisions/performance.md). glibc fixes the limit when the
        // first thread gets an arena, so it is set before any thread starts.
        mallopt(M_ARENA_MAX, 1)
        // `validate` promises exit status 2 for bad usage, where ArgumentParser would give 64.
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == ValidateCommand.configuration.commandName {
            ValidateCommand.mainWithStatus(Array(arguments.dropFirst()))
        }
        if let unknown = unknownCommand(in: arguments) {
            let names = configuration.subcommands.compactMap { $0.configuration.commandName }
            var text = "Error: '\(unknown)' is not a patchsync command; the commands are \(names.joined(separator: ", ")).\n"
                + "See 'patchsync help' or 'patchsync help <command>'.\n"
            text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
            Glibc.exit(ExitCode.validationFailure.rawValue)
        }
        await main(nil)
    }

    /// The command named first (or after `help`) when it is none of ours. Without this check
    /// `patchsync help bogus` printed the general help and exited 0, as if it had worked.
    static func unknownCommand(in arguments: [String]) -> String? {
        var words = arguments[...]
        if words.first == "help" { words = words.dropFirst() }
        guard let name = words.first, !name.hasPrefix("-") else { return nil }
        let known = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
        return known.contains(name) ? nil : name
    }
}
