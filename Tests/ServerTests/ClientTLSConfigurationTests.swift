import Foundation
import Logging
import SyncClient
import Testing

/// The `--ca-file` settings of the clients: a file that cannot be used is named in the error
/// before any connection is tried (libwebsockets would only log it and refuse every certificate).
@Suite struct ClientTLSConfigurationTests {
    let logger = Logger(label: "ClientTLSConfigurationTests")

    /// A fresh scratch directory, removed after `body`.
    func withScratchDirectory(_ body: (URL) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("patchsync-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(directory)
    }

    @Test func theCAFileIsPartOfTheConfigurationAndDefaultsToTheSystemsAuthorities() throws {
        var configuration = try SyncClient.Configuration(url: "wss://127.0.0.1:8443/ws")
        #expect(configuration.url.isSecure)
        #expect(configuration.caFilePath == nil)
        configuration.caFilePath = "/etc/patchsync/ca.pem"
        #expect(configuration.caFilePath == "/etc/patchsync/ca.pem")
        #expect(HTTPClient().tls == ClientTLSConfiguration(caFilePath: nil))
    }

    @Test func aMissingCAFileIsRefusedWithItsPathAndReason() throws {
        try withScratchDirectory { directory in
            let missing = directory.appendingPathComponent("missing.pem").path
            let configuration = SyncClient.Configuration(
                url: try WebSocketURL(parsing: "wss://127.0.0.1:8443/ws"), caFilePath: missing)
            #expect(throws: SyncClientError.unusableCAFile(
                path: missing, reason: "open failed: No such file or directory (errno 2)")) {
                _ = try SyncClient(configuration: configuration, logger: logger)
            }
        }
    }

    @Test func aDirectoryOrAnEmptyFileIsNoCAFile() throws {
        try withScratchDirectory { directory in
            let empty = directory.appendingPathComponent("empty.pem")
            try Data().write(to: empty)
            let cases = [(directory.path, "read failed: Is a directory (errno 21)"), (empty.path, "the file is empty")]
            for (path, reason) in cases {
                let configuration = WebSocketClientLoop.Configuration(tls: ClientTLSConfiguration(caFilePath: path))
                #expect(throws: SyncClientError.unusableCAFile(path: path, reason: reason)) {
                    _ = try WebSocketClientLoop(configuration: configuration, logger: logger)
                }
            }
        }
    }

    @Test func theHTTPClientChecksTheCAFileOnlyForHTTPS() throws {
        try withScratchDirectory { directory in
            let missing = directory.appendingPathComponent("missing.pem").path
            let client = HTTPClient(timeout: .seconds(5), tls: ClientTLSConfiguration(caFilePath: missing))
            #expect {
                _ = try client.send("GET", to: try HTTPURL(parsing: "https://127.0.0.1:1"), path: "/api/docs")
            } throws: { error in
                let error = error as? HTTPClientError
                return error?.kind == .unusableCAFile && error?.message.contains(missing) == true
            }
            // Plain http:// never reads it: the failure is the closed port's.
            #expect {
                _ = try client.send("GET", to: try HTTPURL(parsing: "http://127.0.0.1:1"), path: "/api/docs")
            } throws: { error in
                (error as? HTTPClientError)?.kind == .connectionFailed
            }
        }
    }

    /// Hands the connection's end to a waiting test.
    final class EndRecorder: WebSocketConnectionHandler {
        let ended: AsyncStream<SyncClientError>.Continuation
        init(_ ended: AsyncStream<SyncClientError>.Continuation) { self.ended = ended }
        func connectionDidOpen(_ connection: WebSocketConnection) {}
        func connection(_ connection: WebSocketConnection, didReceive message: UnsafeRawBufferPointer, isBinary: Bool) {}
        func connection(_ connection: WebSocketConnection, didCloseWith error: SyncClientError) { ended.yield(error) }
    }

    @Test func aLoopWithoutTLSRefusesWSSAndSaysWhy() async throws {
        let loop = try WebSocketClientLoop(configuration: WebSocketClientLoop.Configuration(), logger: logger)
        let (ends, ended) = AsyncStream.makeStream(of: SyncClientError.self)
        let url = try WebSocketURL(parsing: "wss://127.0.0.1:1/ws")
        loop.open(url, handler: EndRecorder(ended))
        var iterator = ends.makeAsyncIterator()
        #expect(await iterator.next() == .connectionFailed(url: url.description, reason: "the client loop was created without TLS"))
        loop.shutdown()
    }

    /// libwebsockets 4.1 would check the certificate against "[" (the Host header cut at its
    /// first ':'), so an IPv6 address over TLS is refused up front, saying why.
    @Test func anIPv6AddressOverTLSIsRefusedBeforeConnecting() async throws {
        let loop = try WebSocketClientLoop(
            configuration: WebSocketClientLoop.Configuration(tls: ClientTLSConfiguration()), logger: logger)
        let (ends, ended) = AsyncStream.makeStream(of: SyncClientError.self)
        let url = try WebSocketURL(parsing: "wss://[::1]:8443/ws")
        loop.open(url, handler: EndRecorder(ended))
        var iterator = ends.makeAsyncIterator()
        let reason = "a certificate cannot be checked for an IPv6 address with libwebsockets 4.1; use a host name"
        #expect(await iterator.next() == .connectionFailed(url: url.description, reason: reason))
        loop.shutdown()

        #expect {
            _ = try HTTPClient().send("GET", to: try HTTPURL(parsing: "https://[::1]:8443"), path: "/api/docs")
        } throws: { error in
            (error as? HTTPClientError) == HTTPClientError(.connectionFailed, "cannot connect to [::1]:8443: \(reason)")
        }
    }
}
