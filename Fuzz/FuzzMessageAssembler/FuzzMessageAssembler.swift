import FuzzSupport
import LibWebsocketsSupport

/// Pieces of frames as libwebsockets hands them over, cut from the input: each message comes
/// out whole (text byte for byte, binary as its size and, when kept, byte for byte) unless it
/// exceeds the limit, and is then refused before more than the limit is buffered; the next
/// message starts afresh.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let limit = input.choice(below: 64)
    let keepsBinaryPayload = input.bool()
    var assembler = MessageAssembler(limit: limit, keepsBinaryPayload: keepsBinaryPayload)
    var expected: [UInt8] = []
    var isBinary = false
    var started = false
    while !input.isExhausted {
        let binary = input.bool()
        let isLast = input.bool()
        var piece: [UInt8] = []
        for _ in 0..<input.choice(below: 24) where !input.isExhausted { piece.append(input.byte()) }
        if !started {
            isBinary = binary
            started = true
        }
        expected += piece
        let outcome = piece.withUnsafeBytes { assembler.append($0, isBinary: binary, isLast: isLast) }
        switch outcome {
        case .tooBig:
            expect(expected.count > limit, "refused \(expected.count) bytes under the limit \(limit)")
            // The transport closes the connection here; a new assembler serves the next one.
            return 0
        case .incomplete:
            expect(!isLast && expected.count <= limit, "incomplete after the last piece or over the limit")
        case .complete(.text(let text)):
            expect(isLast && !isBinary && text == expected, "text message differs from its pieces")
            started = false
            expected = []
        case .complete(.binary(let payload, let byteCount)):
            expect(isLast && isBinary && byteCount == expected.count, "binary message has the wrong size")
            expect(payload == (keepsBinaryPayload ? expected : []), "binary payload differs from its pieces")
            started = false
            expected = []
        }
    }
    return 0
}
