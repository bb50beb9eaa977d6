import ArgumentParser
import JSONPatch

/// `patchsync apply DOC.json PATCH.json`: prints the patched document.
struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply an RFC 6902 JSON Patch to a JSON document and print the result.",
        discussion: "The patch is applied atomically: if any operation fails, nothing is printed on stdout, "
            + "one line on stderr names the failing operation, and the exit status is 1."
    )

    @Argument(help: "The JSON document.")
    var document: String

    @Argument(help: "The patch: a JSON array of operations.")
    var patch: String

    func run() throws {
        let documentValue = try JSONFile.load(document)
        let patchValue = try JSONFile.load(patch)
        let result: JSONValue
        do {
            result = try JSONPatch(json: patchValue).apply(to: documentValue)
        } catch {
            throw CommandFailure(description: "cannot apply \(patch): \(error)")
        }
        try JSONFile.print(result)
    }
}
