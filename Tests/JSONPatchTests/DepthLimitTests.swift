import JSONPatch
import Testing

/// Values nested deeper than `JSONLimits.maximumDepth` are refused with `.tooDeep`, however
/// they were built, instead of recursing until the stack runs out.
@Suite struct DepthLimitTests {
    private func nested(_ depth: Int, leaf: JSONValue = 1) -> JSONValue {
        var value = leaf
        for level in 0..<depth { value = level % 2 == 0 ? [value] : ["k": value] }
        return value
    }

    @Test func applyRefusesToAddTooDeepAValue() throws {
        let document: JSONValue = ["a": ["b": [:]]]
        let path = JSONPointer(tokens: ["a", "b", "c"])
        let patch = JSONPatch([.add(path: path, value: nested(JSONLimits.maximumDepth - 2))])
        #expect(throws: JSONPatchError.self) { try patch.apply(to: document) }
        do {
            _ = try patch.apply(to: document)
        } catch {
            #expect(error.kind == .tooDeep)
            #expect(error.operationIndex == 0)
        }
        let fits = JSONPatch([.add(path: path, value: nested(JSONLimits.maximumDepth - 3))])
        #expect(throws: Never.self) { try fits.apply(to: document) }
    }

    @Test func applyRefusesTooLongAPointer() {
        let pointer = JSONPointer(tokens: Array(repeating: "k", count: JSONLimits.maximumDepth + 1))
        let operations: [PatchOperation] = [
            .remove(path: pointer), .test(path: pointer, value: 1), .copy(from: pointer, path: .root),
        ]
        for operation in operations {
            #expect(kind(applying: operation, to: nested(2000)) == .tooDeep)
        }
    }

    @Test func testOperationOnAVeryDeepDocumentIsAnError() {
        let deep = nested(5000)
        #expect(kind(applying: .test(path: .root, value: nested(5000)), to: deep) == .tooDeep)
        #expect(kind(applying: .copy(from: .root, path: JSONPointer(tokens: ["0"])), to: deep) == .tooDeep)
    }

    @Test func diffRefusesVeryDeepDocuments() {
        for (old, new) in [(nested(5000), nested(5000, leaf: 2)), (nested(5000), nested(5000)), (1, nested(5000))] {
            do {
                _ = try JSONPatch.diff(from: old, to: new)
                Issue.record("diffed a value nested 5000 levels deep")
            } catch {
                #expect(error.kind == .tooDeep)
            }
        }
    }

    @Test func diffHandlesValuesAtTheLimit() throws {
        let old = nested(JSONLimits.maximumDepth)
        let new = nested(JSONLimits.maximumDepth, leaf: 2)
        let patch = try JSONPatch.diff(from: old, to: new)
        #expect(patch.operations.count == 1)
        #expect(try patch.apply(to: old) == new)
    }

    private func kind(applying operation: PatchOperation, to document: JSONValue) -> JSONPatchError.Kind? {
        do {
            _ = try JSONPatch([operation]).apply(to: document)
            return nil
        } catch {
            return error.kind
        }
    }
}
