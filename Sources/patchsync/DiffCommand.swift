import ArgumentParser
import JSONPatch

/// `patchsync diff A.json B.json`: prints the patch that turns A into B.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Print the RFC 6902 JSON Patch that turns one JSON document into another."
    )

    @Argument(help: "The document before.")
    var from: String

    @Argument(help: "The document after.")
    var to: String

    func run() throws {
        let old = try JSONFile.load(from)
        let new = try JSONFile.load(to)
        let patch: JSONPatch
        do {
            patch = try JSONPatch.diff(from: old, to: new)
        } catch {
            throw CommandFailure(description: "cannot diff \(from) and \(to): \(error)")
        }
        try JSONFile.print(patch.jsonValue)
    }
}
