import LibWebsocketsSupport
import Testing

/// The reassembly both ends of the bridge use: the server (binary messages only counted) and
/// the client (binary messages kept).
@Suite struct MessageAssemblerTests {
    func feed(_ assembler: inout MessageAssembler, _ parts: [[UInt8]], isBinary: Bool) -> [MessageAssembler.Outcome] {
        parts.enumerated().map { index, part in
            part.withUnsafeBytes { assembler.append($0, isBinary: isBinary, isLast: index == parts.count - 1) }
        }
    }

    @Test func fragmentsJoinIntoOneTextMessage() {
        var assembler = MessageAssembler(limit: 100, keepsBinaryPayload: false)
        let outcomes = feed(&assembler, ["{\"a\"", ":1", "}"].map { Array($0.utf8) }, isBinary: false)
        #expect(outcomes == [.incomplete, .incomplete, .complete(.text(Array("{\"a\":1}".utf8)))])
    }

    @Test(arguments: [false, true])
    func binaryMessagesReportTheirSizeAndKeepTheirBytesOnlyWhenAsked(keepsBinaryPayload: Bool) {
        var assembler = MessageAssembler(limit: 100, keepsBinaryPayload: keepsBinaryPayload)
        let outcomes = feed(&assembler, [[1, 2], [3]], isBinary: true)
        #expect(outcomes.last == .complete(.binary(keepsBinaryPayload ? [1, 2, 3] : [], byteCount: 3)))
    }

    @Test func theCapCountsTheWholeMessage() {
        var assembler = MessageAssembler(limit: 5, keepsBinaryPayload: true)
        #expect(feed(&assembler, [[1, 2, 3], [4, 5, 6]], isBinary: false) == [.incomplete, .tooBig])
    }

    @Test func theNextMessageStartsAfresh() {
        var assembler = MessageAssembler(limit: 5, keepsBinaryPayload: true)
        #expect(feed(&assembler, [[1, 2, 3], [4, 5]], isBinary: true).last == .complete(.binary([1, 2, 3, 4, 5], byteCount: 5)))
        #expect(feed(&assembler, [[6]], isBinary: false) == [.complete(.text([6]))])
    }
}
