import ArgumentParser
import SyncClient

/// `--ca-file`, shared by the commands that talk to a server.
struct CAFileOption: ParsableArguments {
    @Option(
        name: .customLong("ca-file"),
        help: ArgumentHelp(
            "A PEM file of certificate authorities to trust besides the system's, for wss:// and https:// (a private CA).",
            valueName: "path"))
    var path: String?

    var tls: ClientTLSConfiguration { ClientTLSConfiguration(caFilePath: path) }
}
