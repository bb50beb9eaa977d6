import FuzzSupport
import JSONCodec
import JSONPatch
import JSONSchema

/// Any bytes as `SCHEMA \0 INSTANCE` (two JSON texts): compiling either refuses with an error
/// or gives a schema whose full, quick and incremental validations never crash and agree on
/// whether the instance is valid.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let parts = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
    guard let schemaValue = try? JSONCodec.decode(Array(parts[0])) else { return 0 }
    for ignoresUnknownKeywords in [false, true] {
        guard let schema = try? JSONSchema(compiling: schemaValue, options: .init(ignoresUnknownKeywords: ignoresUnknownKeywords))
        else { continue }
        let instance = parts.count > 1 ? (try? JSONCodec.decode(Array(parts[1]))) ?? .null : .null
        let failures = schema.validate(instance)
        let first = schema.firstFailure(in: instance)
        expect(failures.isEmpty == (first == nil), "full and quick validation disagree")
        for failure in failures {
            expect(!failure.keyword.isEmpty && !failure.message.isEmpty, "a failure without keyword or message")
        }
        let whole = schema.firstFailure(in: instance, changedPaths: [.root])
        expect((whole == nil) == failures.isEmpty, "incremental validation of the root disagrees")
    }
    return 0
}
