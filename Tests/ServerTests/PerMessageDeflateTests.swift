import CZlib
import Testing

@testable import SyncServer

/// A message compressed once for every permessage-deflate session must be what a client's
/// inflater reads back (RFC 7692: append 00 00 ff ff, inflate raw).
@Suite struct PerMessageDeflateTests {
    static func inflate(_ body: [UInt8], expecting count: Int) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var input = body + [0, 0, 0xff, 0xff]
        var output = [UInt8](repeating: 0, count: count + 1)
        let result = input.withUnsafeMutableBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output -> Int32 in
                stream.next_in = input.baseAddress
                stream.avail_in = UInt32(input.count)
                stream.next_out = output.baseAddress
                stream.avail_out = UInt32(output.count)
                return CZlib.inflate(&stream, Z_SYNC_FLUSH)
            }
        }
        guard result == Z_OK, stream.avail_in == 0 else { return nil }
        return Array(output.prefix(Int(stream.total_out)))
    }

    static func rows(_ count: Int) -> [UInt8] {
        let rows = (0..<count).map { #"{"name":"row \#($0) #\#(($0 &* 2_654_435_761) % 65_536)","completed":false}"# }
        return Array(#"{"type":"Full","todo":{"todos":[\#(rows.joined(separator: ","))]}}"#.utf8)
    }

    @Test(arguments: [1, 300, 10_000])
    func theBodyInflatesToTheMessage(rows: Int) throws {
        let payload = Self.rows(rows)
        let body = try #require(payload.withUnsafeBytes { PerMessageDeflate.compress($0) })
        #expect(body.count < payload.count)
        #expect(Self.inflate(body, expecting: payload.count) == payload)
    }

    @Test func incompressibleBytesStillRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<200_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let body = try #require(payload.withUnsafeBytes { PerMessageDeflate.compress($0) })
        #expect(Self.inflate(body, expecting: payload.count) == payload)
    }

    @Test func frameHeadersUseTheShortestLengthAndMarkOnlyTheFirstFragmentCompressed() {
        #expect(ServerFrameHeader.bytes(first: true, last: true, compressed: true, length: 125) == [0xC1, 125])
        #expect(ServerFrameHeader.bytes(first: true, last: false, compressed: true, length: 126) == [0x41, 126, 0, 126])
        #expect(ServerFrameHeader.bytes(first: false, last: false, compressed: true, length: 65_535) == [0x00, 126, 0xff, 0xff])
        #expect(
            ServerFrameHeader.bytes(first: false, last: true, compressed: true, length: 65_536)
                == [0x80, 127, 0, 0, 0, 0, 0, 1, 0, 0])
        #expect(ServerFrameHeader.bytes(first: true, last: true, compressed: false, length: 3) == [0x81, 3])
    }
}
