import FuzzSupport
import JSONCodec
import JSONPatch

/// Any bytes as JSON text: decoding never crashes, and a decoded value encodes, decodes back
/// to an equal value, and encodes to the same bytes again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let lenient = try? JSONCodec.decode(bytes, duplicateKeys: .keepLast)
    guard let value = try? JSONCodec.decode(bytes) else { return 0 }
    expect(lenient == value, "keepLast decodes a text without duplicate keys differently")
    let encoded: [UInt8]
    do {
        encoded = try JSONCodec.encode(value)
    } catch {
        fatalError("a decoded value does not encode: \(error)")
    }
    do {
        let decodedAgain = try JSONCodec.decode(encoded)
        expect(decodedAgain == value, "round trip changed the value: \(String(decoding: encoded, as: UTF8.self))")
        expect(try JSONCodec.encode(decodedAgain) == encoded, "encoding is not stable")
    } catch {
        fatalError("the encoding does not decode: \(error)")
    }
    return 0
}
