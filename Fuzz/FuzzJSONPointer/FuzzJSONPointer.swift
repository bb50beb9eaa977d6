import FuzzSupport
@testable import JSONPatch

/// Any text as a JSON Pointer: parsing never crashes, a parsed pointer prints as text that
/// parses back to it, and an array index token reads only as its own decimal form.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let pointer = try? JSONPointer(parsing: text) else { return 0 }
    expect(pointer.tokens.count <= JSONLimits.maximumDepth, "more tokens than the depth limit")
    expect(pointer.description == text, "\(text) prints as \(pointer.description)")
    expect((try? JSONPointer(parsing: pointer.description)) == pointer, "the printed pointer parses differently")
    for token in pointer.tokens {
        switch JSONPointer.parseIndex(token) {
        case .index(let index)?: expect(String(index) == token, "token \(token) read as index \(index)")
        case .end?: expect(token == "-", "token \(token) read as the end")
        case nil: break
        }
    }
    return 0
}
