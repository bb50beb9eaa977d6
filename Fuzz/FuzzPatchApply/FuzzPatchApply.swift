import FuzzSupport
import JSONPatch

/// A document and up to 8 operations on it, built from the input: applying never crashes,
/// leaves the caller's document as it was whether it succeeds or throws, and agrees with
/// applying the operations in place one by one; the patch survives its JSON form.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let document = input.json()
    var operations: [PatchOperation] = []
    for _ in 0..<input.choice(below: 9) { operations.append(input.operation(on: document)) }
    let patch = JSONPatch(operations)
    let before = document.unsharedCopy()

    let result = try? patch.apply(to: document)
    expect(document.isExactly(before), "apply changed the caller's document")

    // In place, on a copy that shares nothing with `document`, so that edits happen in place.
    var inPlace = document.unsharedCopy()
    let inPlaceSucceeded = (try? patch.applyInPlace(to: &inPlace)) != nil
    expect(inPlaceSucceeded == (result != nil), "apply and applyInPlace disagree on success")
    if let result {
        expect(inPlace.isExactly(result), "apply and applyInPlace give different documents")
    }

    let reparsed = try? JSONPatch(json: patch.jsonValue)
    expect(reparsed == patch, "the patch's JSON form parses differently")
    return 0
}
