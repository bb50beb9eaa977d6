import SyncClient
import Testing

/// The URLs `patchsync watch`/`send` and `SyncClient.Configuration(url:)` accept.
@Suite struct WebSocketURLTests {
    @Test func aFullURLSplitsIntoHostPortAndTarget() throws {
        let url = try WebSocketURL(parsing: "ws://127.0.0.1:3333/ws/groceries?since=4")
        #expect(url == WebSocketURL(host: "127.0.0.1", port: 3333, pathAndQuery: "/ws/groceries?since=4"))
        #expect(url.description == "ws://127.0.0.1:3333/ws/groceries?since=4")
    }

    @Test func missingPartsTakeTheirDefaults() throws {
        #expect(try WebSocketURL(parsing: "ws://example.org") == WebSocketURL(host: "example.org", port: 80, pathAndQuery: "/"))
        #expect(try WebSocketURL(parsing: "ws://box:8080?token=x").pathAndQuery == "/?token=x")
    }

    @Test func wssIsTLSWithItsOwnDefaultPort() throws {
        let secure = try WebSocketURL(parsing: "wss://box.example/todo/ws?doc=shop")
        #expect(secure == WebSocketURL(host: "box.example", port: 443, pathAndQuery: "/todo/ws?doc=shop", isSecure: true))
        #expect(secure.description == "wss://box.example:443/todo/ws?doc=shop")
        #expect(try WebSocketURL(parsing: "wss://[::1]:8443/ws").port == 8443)
        #expect(try WebSocketURL(parsing: "ws://box.example/ws").isSecure == false)
    }

    @Test func anIPv6HostGoesInBrackets() throws {
        let url = try WebSocketURL(parsing: "ws://[::1]:3333/ws")
        #expect(url.host == "::1")
        #expect(url.port == 3333)
        #expect(url.description == "ws://[::1]:3333/ws")
    }

    @Test(arguments: [
        "http://127.0.0.1:3333/ws", "https://127.0.0.1/ws", "wss:/127.0.0.1/ws", "ws://", "ws://:3333/ws", "ws://host:0/ws",
        "ws://host:70000/ws", "ws://host:abc/ws", "ws://[::1/ws", "ws://user@host/ws", "ws://host/a b",
    ])
    func aBadURLIsRefusedWithItsReason(text: String) {
        #expect {
            _ = try WebSocketURL(parsing: text)
        } throws: { error in
            guard case .invalidURL(let url, let reason) = error as? SyncClientError else { return false }
            return url == text && !reason.isEmpty
        }
    }
}

/// The server URLs `patchsync history`/`revert` accept.
@Suite struct HTTPURLTests {
    @Test func httpsIsAcceptedWithItsOwnDefaultPort() throws {
        let secure = try HTTPURL(parsing: "https://box.example/todo/")
        #expect(secure == HTTPURL(host: "box.example", port: 443, basePath: "/todo", isSecure: true))
        #expect(secure.description == "https://box.example:443/todo")
        #expect(try HTTPURL(parsing: "http://box.example").port == 80)
        #expect(try HTTPURL(parsing: "https://[::1]:8443").port == 8443)
    }

    @Test func otherSchemesAreRefused() {
        #expect(throws: HTTPClientError.self) { try HTTPURL(parsing: "ftp://box.example") }
    }

    @Test func aServerThatIsNotListeningIsAConnectionFailure() throws {
        let url = try HTTPURL(parsing: "http://127.0.0.1:1")
        #expect {
            _ = try HTTPClient(timeout: .seconds(5)).send("GET", to: url, path: "/api/docs")
        } throws: { error in
            (error as? HTTPClientError)?.kind == .connectionFailed
        }
    }
}
