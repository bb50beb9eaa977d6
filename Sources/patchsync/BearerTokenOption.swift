import ArgumentParser
import Glibc

/// `--token`, shared by the commands that talk to a server.
struct BearerTokenOption: ParsableArguments {
    @Option(
        name: .customLong("token"),
        help: "Send 'Authorization: Bearer <token>' (when the server requires one). (default: $PATCHSYNC_TOKEN, which keeps it out of the process list)")
    var given: String?

    /// The token from the command line, else from the environment.
    var value: String? {
        given ?? getenv("PATCHSYNC_TOKEN").map { String(cString: $0) }
    }
}
