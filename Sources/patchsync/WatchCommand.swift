import ArgumentParser
import Glibc
import JSONCodec
import SyncClient

/// `patchsync watch URL`: prints every server message as one compact JSON line.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print every message from a patchsync server, one compact JSON object per line.",
        discussion: """
            Starts with the Full state, then one line per Patch, until the server closes the \
            connection. Exit status: 0 when the server closes normally (status 1000 or 1001) or on \
            SIGINT/SIGTERM; 1 when the connection ends otherwise; 2 when it cannot connect. \
            With --reconnect, a lost connection (a server restart) is opened again with backoff \
            and resumed after the last version printed, and only a signal ends the command.
            """)

    @OptionGroup var connection: ClientConnectionOptions

    @Flag(help: "Reconnect after a lost connection and resume where it left off.")
    var reconnect = false

    func run() async throws {
        // Lines are flushed one by one, so exiting straight from the signal loses nothing.
        signal(SIGINT) { _ in _exit(0) }
        signal(SIGTERM) { _ in _exit(0) }

        let client: SyncClient
        do {
            var configuration = try connection.clientConfiguration()
            if reconnect { configuration.reconnect = SyncClient.ReconnectPolicy() }
            client = try SyncClient(configuration: configuration, logger: makeClientLogger(label: "patchsync.watch"))
        } catch {
            printError("watch", "\(error)")
            throw ExitCode(2)
        }
        let messages = client.messages()
        do {
            try await client.connect()
        } catch {
            printError("watch", "\(error)")
            throw ExitCode(2)
        }
        for await message in messages {
            do {
                print(try JSONCodec.encodeString(message))
            } catch {
                printError("watch", "cannot print a message: \(error)")
            }
            fflush(nil)  // nil flushes every stream; Swift 6 will not share the `stdout` global
        }
        let end = client.closeError
        await client.close()
        switch end {
        case .closed(code: 1000?, _), .closed(code: 1001?, _):
            return
        case let error?:
            printError("watch", "\(error)")
            throw ExitCode(1)
        case nil:
            return
        }
    }
}
