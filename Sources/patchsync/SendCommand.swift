import ArgumentParser
import JSONCodec
import JSONPatch
import SyncClient

/// `patchsync send URL ACTION`: sends one action and prints the server's reply.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send one action to a patchsync server and print its Ack or Error.",
        discussion: """
            The action is a JSON object such as '{"type":"Add","row":{"name":"milk","completed":false}}'; \
            an "id" is added (replacing any given). The reply is printed as one line of JSON. \
            Exit status: 0 on Ack; 1 on an Error reply; 2 when the action is not valid JSON, the \
            connection fails, or no reply comes within --timeout.
            """)

    @OptionGroup var connection: ClientConnectionOptions

    @Argument(help: "The action, a JSON object.")
    var action: String

    func run() async throws {
        let value: JSONValue
        do {
            value = try JSONCodec.decode(action)
        } catch {
            printError("send", "the action is not valid JSON: \(error)")
            throw ExitCode(2)
        }
        guard case .object = value else {
            printError("send", "the action must be a JSON object, not \(value.typeName)")
            throw ExitCode(2)
        }

        let client: SyncClient
        let reply: SyncClient.Reply
        do {
            client = try SyncClient(
                configuration: try connection.clientConfiguration(), logger: makeClientLogger(label: "patchsync.send"))
        } catch {
            printError("send", "\(error)")
            throw ExitCode(2)
        }
        do {
            try await client.connect()
            reply = try await client.send(action: value)
        } catch {
            await client.close()
            printError("send", "\(error)")
            throw ExitCode(2)
        }
        await client.close()
        do {
            print(try JSONCodec.encodeString(reply.message))
        } catch {
            printError("send", "cannot print the reply: \(error)")
            throw ExitCode(2)
        }
        if !reply.isAck { throw ExitCode(1) }
    }
}
