import SyncProtocol
import Testing

@testable import SyncServer

/// Large messages compressed in pieces for permessage-deflate sessions: what a client inflates is
/// the message, and the next version of a list compresses only the pieces its change touched.
@Suite struct CompressedMessageCacheTests {
    /// A Full of `count` rows, row `renamed` (if any) with a longer name.
    static func full(rows count: Int, renamed: Int? = nil) -> OutboundMessage {
        let rows = (0..<count).map { row in
            let name = row == renamed ? "renamed row \(row)" : "row \(row) #\((row &* 2_654_435_761) % 65_536)"
            return #"{"name":"\#(name)","completed":false}"#
        }
        return OutboundMessage(Array(#"{"type":"Full","todo":{"todos":[\#(rows.joined(separator: ","))]}}"#.utf8))
    }

    static func inflated(_ body: [UInt8]?, of message: OutboundMessage) -> [UInt8]? {
        body.flatMap { PerMessageDeflateTests.inflate($0, expecting: message.count) }
    }

    @Test(arguments: [1, 300, 10_000])
    func theBodyInflatesToTheMessage(rows: Int) {
        var cache = CompressedMessageCache()
        let message = Self.full(rows: rows)
        let body = cache.compressed(message)
        #expect(Self.inflated(body, of: message) == message.bytes)
    }

    @Test func incompressibleBytesStillRoundTrip() {
        var generator = SystemRandomNumberGenerator()
        let message = OutboundMessage((0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        var cache = CompressedMessageCache()
        let body = cache.compressed(message)
        #expect(Self.inflated(body, of: message) == message.bytes)
    }

    @Test func theNextVersionCompressesOnlyThePiecesItChanged() {
        var cache = CompressedMessageCache()
        let first = Self.full(rows: 10_000)
        let firstBody = cache.compressed(first)
        #expect(firstBody != nil)
        let piecesOfAFull = cache.piecesCompressed
        #expect(piecesOfAFull > 10)

        let next = Self.full(rows: 10_000, renamed: 5_000)
        let body = cache.compressed(next)
        #expect(cache.piecesCompressed - piecesOfAFull <= 2)
        #expect(Self.inflated(body, of: next) == next.bytes)

        // The same message again costs nothing; the one before is pieces away too.
        _ = cache.compressed(next)
        #expect(cache.piecesCompressed - piecesOfAFull <= 2)
        let back = cache.compressed(first)
        #expect(cache.piecesCompressed - piecesOfAFull <= 4)
        #expect(Self.inflated(back, of: first) == first.bytes)
    }

    @Test func piecesCoverTheMessageWithinTheirBounds() {
        let cuts = ContentDefinedCuts()
        let message = Self.full(rows: 10_000)
        let pieces = cuts.pieces(of: message.payload)
        #expect(pieces.first?.lowerBound == 0)
        #expect(pieces.last?.upperBound == message.count)
        #expect(zip(pieces, pieces.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        #expect(pieces.dropLast().allSatisfy { (cuts.minimumBytes...cuts.maximumBytes).contains($0.count) })
    }
}
