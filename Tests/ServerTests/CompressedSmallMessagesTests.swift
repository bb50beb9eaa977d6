import SyncProtocol
import Testing

@testable import SyncServer

/// Messages up to a few KiB for permessage-deflate sessions: a broadcast is compressed once for
/// every session.
@Suite struct CompressedSmallMessagesTests {
    static let patch = OutboundMessage(
        Array(#"{"type":"Patch","ops":[{"op":"add","path":"/todos/17","value":{"name":"Check the hydraulic pressure on line 3","completed":false}}],"version":1234}"#.utf8))

    @Test func aBroadcastIsCompressedOnceAndInflatesToTheMessage() throws {
        var cache = CompressedSmallMessages()
        let bodies = (0..<300).map { _ in cache.body(of: Self.patch) }
        #expect(cache.compressions == 1)
        let body = try #require(bodies[0])
        #expect(bodies.allSatisfy { $0 == body })
        #expect(body.count < Self.patch.count)
        #expect(CompressedMessageCacheTests.inflated(body, of: Self.patch) == Self.patch.bytes)
    }

    /// Even where compression adds bytes: lws's own client stops reading at an uncompressed
    /// message on a compressing connection.
    @Test(arguments: ["an Ack", "random bytes"])
    func everyMessageIsCompressed(kind: String) throws {
        var generator = SystemRandomNumberGenerator()
        let bytes =
            kind == "an Ack"
            ? Array(#"{"type":"Ack","id":17,"version":1234}"#.utf8)
            : (0..<1000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var cache = CompressedSmallMessages()
        let message = OutboundMessage(bytes)
        let compressed = cache.body(of: message)
        let body = try #require(compressed)
        #expect(CompressedMessageCacheTests.inflated(body, of: message) == bytes)
    }

    /// Messages interleaved with a broadcast (each session's own Ack) do not push it out.
    @Test func aFewOtherMessagesBetweenABroadcastsWritesKeepItsBody() {
        var cache = CompressedSmallMessages()
        _ = cache.body(of: Self.patch)
        for reply in 0..<5 {
            _ = cache.body(of: OutboundMessage(Array(#"{"type":"Error","id":\#(reply),"code":"invalid_action","message":"\#(String(repeating: "x", count: 150))"}"#.utf8)))
        }
        _ = cache.body(of: Self.patch)
        #expect(cache.compressions == 6)
    }
}
