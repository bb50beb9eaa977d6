import FuzzSupport
import JSONPatch

/// Two documents built from the input, the second often an edit of the first (as the engine
/// diffs): the diff applied to the first gives the second. Equal as RFC 6902 compares, not
/// in member order: a patch can only add a member at the end of an object.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let old = input.json()
    var new = input.bool() ? input.json() : old
    for _ in 0..<input.choice(below: 9) {
        try? JSONPatch([input.operation(on: new)]).applyInPlace(to: &new)
    }
    let patch: JSONPatch
    do {
        patch = try JSONPatch.diff(from: old, to: new)
    } catch {
        fatalError("no diff between two shallow documents: \(error)")
    }
    do {
        let patched = try patch.apply(to: old)
        expect(patched == new, "the diff does not turn old into new: \(patch)")
    } catch {
        fatalError("the diff does not apply to old: \(error)\n\(patch)")
    }
    return 0
}
