import ArgumentParser
import JSONCodec
import JSONPatch
import SyncClient
import SyncEngine

/// Options shared by the commands that call the HTTP API (`history`, `revert`).
struct APIClientOptions: ParsableArguments {
    @Argument(help: "The server's address, e.g. http://127.0.0.1:3333 (https:// for TLS; with a path prefix behind a proxy).")
    var url: String

    @Option(help: "The document's name.")
    var doc: String = DocumentName.default.rawValue

    @OptionGroup var bearerToken: BearerTokenOption

    @OptionGroup var caFile: CAFileOption

    @Option(help: "Seconds to wait for the connection and for each read or write.")
    var timeout: Double = 10

    func validate() throws {
        guard DocumentName(doc) != nil else {
            throw ValidationError("--doc: '\(doc)' is not a document name (1 to 64 letters, digits, - or _)")
        }
        guard timeout > 0, timeout <= 86_400 else { throw ValidationError("--timeout must be between 0 and 86400 seconds") }
        if let token = bearerToken.value, token.isEmpty || token.contains(where: \.isNewline) {
            throw ValidationError("--token must be non-empty and on one line")
        }
    }

    /// Sends the request and prints the JSON answer on stdout. Exit status: 0 on a 2xx answer;
    /// 1 when the server answers with an error (its message goes to stderr); 2 when no answer came.
    func call(_ command: String, _ method: String, path: String, body: JSONValue? = nil) throws {
        var headers: [HTTPClient.Header] = []
        if let token = bearerToken.value {
            headers.append(HTTPClient.Header(name: "Authorization", value: "Bearer \(token)"))
        }
        let response: HTTPClient.Response
        do {
            let server = try HTTPURL(parsing: url)
            var bytes: [UInt8] = []
            if let body {
                bytes = try JSONCodec.encode(body)
                headers.append(HTTPClient.Header(name: "Content-Type", value: "application/json"))
            }
            _ = makeClientLogger(label: "patchsync.\(command)")
            let client = HTTPClient(timeout: .milliseconds(Int64(timeout * 1000)), tls: caFile.tls)
            response = try client.send(method, to: server, path: path, headers: headers, body: bytes)
        } catch {
            printError(command, "\(error)")
            throw ExitCode(2)
        }
        guard (200..<300).contains(response.status) else {
            printError(command, "HTTP \(response.status): \(Self.errorMessage(response.body))")
            throw ExitCode(1)
        }
        print(String(decoding: response.body, as: UTF8.self))
    }

    var documentPath: String { "/api/docs/\(doc)" }

    /// The `message` of the API's `{"error":{...}}` body, or the body itself when it is something else.
    private static func errorMessage(_ body: [UInt8]) -> String {
        if let value = try? JSONCodec.decode(body), case .object(let object) = value,
            case .object(let error)? = object["error"], let message = error["message"]?.stringValue
        {
            let code = error["code"]?.stringValue.map { "\($0): " } ?? ""
            return code + message
        }
        var text = String(decoding: body.prefix(300), as: UTF8.self)
        while text.last?.isWhitespace == true { text.removeLast() }
        return text.isEmpty ? "(no body)" : text
    }
}
