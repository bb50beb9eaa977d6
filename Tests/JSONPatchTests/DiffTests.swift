import JSONPatch
import Testing

@Suite struct DiffTests {
    private func diff(_ old: JSONValue, _ new: JSONValue) throws -> [PatchOperation] {
        let patch = try JSONPatch.diff(from: old, to: new)
        #expect(try patch.apply(to: old) == new)
        return patch.operations
    }

    private func pointer(_ tokens: String...) -> JSONPointer {
        JSONPointer(tokens: tokens)
    }

    @Test func rootReplacementAndTypeChanges() throws {
        #expect(try diff(1, "1") == [.replace(path: .root, value: "1")])
        #expect(try diff(["a": 1], [1]) == [.replace(path: .root, value: [1])])
        #expect(try diff(["a": [1]], ["a": ["x": 1]]) == [.replace(path: pointer("a"), value: ["x": 1])])
        #expect(try diff(["a": true], ["a": 1]) == [.replace(path: pointer("a"), value: 1)])
        #expect(try diff(["a": 1], ["a": 1.0]) == [])
    }

    @Test func awkwardKeys() throws {
        // The unchanged member makes replacing the whole object the larger patch.
        let unchanged = JSONValue.string(String(repeating: "x", count: 500))
        let old: JSONValue = ["a/b": 1, "~": 2, "": 3, "日本": 4, "-": 5, "big": unchanged]
        let new: JSONValue = ["a/b": 10, "~": 20, "": 30, "日本": 40, "-": 50, "big": unchanged]
        let paths = try diff(old, new).map { $0.path.description }
        #expect(paths == ["/a~1b", "/~0", "/", "/日本", "/-"])
    }

    @Test func middleInsertionIsOneAdd() throws {
        let old = JSONValue.array((0..<100).map { .object(["id": .integer($0)]) })
        guard case .array(var rows) = old else { return }
        rows.insert(["id": 1000], at: 37)
        #expect(try diff(old, .array(rows)) == [.add(path: pointer("37"), value: ["id": 1000])])
    }

    @Test func middleRemovalIsOneRemove() throws {
        let old = JSONValue.array((0..<100).map { .integer($0) })
        guard case .array(var rows) = old else { return }
        rows.remove(at: 61)
        #expect(try diff(old, .array(rows)) == [.remove(path: pointer("61"))])
    }

    @Test func scatteredInsertionsAndRemovalsAreOneOperationEach() throws {
        func row(_ name: String) -> JSONValue {
            ["name": .string(name), "note": .string(String(repeating: name, count: 40))]
        }
        let old: JSONValue = .array(["a", "b", "c", "d", "e", "f", "g", "h"].map(row))
        let new: JSONValue = .array(["x", "a", "b", "d", "e", "y", "f", "g"].map(row))
        let operations = try diff(old, new)
        #expect(operations.count == 4)
    }

    @Test func manyEditsInASmallValueBecomeOneReplace() throws {
        let old: JSONValue = ["list": [1, 2, 3, 4, 5, 6]]
        let new: JSONValue = ["list": [6, 5, 4, 3, 2, 1]]
        #expect(try diff(old, new) == [.replace(path: pointer("list"), value: [6, 5, 4, 3, 2, 1])])
    }

    @Test func movedElementIsOneMove() throws {
        let big: JSONValue = ["payload": .string(String(repeating: "x", count: 100))]
        let old: JSONValue = [big, 1, 2, 3, 4]
        let new: JSONValue = [1, 2, 3, big, 4]
        #expect(try diff(old, new) == [.move(from: pointer("0"), path: pointer("3"))])
        #expect(try diff(new, old) == [.move(from: pointer("3"), path: pointer("0"))])
    }

    @Test func renamedMemberIsOneMove() throws {
        let old: JSONValue = ["old name": ["deep": [1, 2, 3]], "keep": 1]
        let new: JSONValue = ["new name": ["deep": [1, 2, 3]], "keep": 1]
        #expect(try diff(old, new) == [.move(from: pointer("old name"), path: pointer("new name"))])
    }

    @Test func changedElementIsDiffedInPlace() throws {
        let old: JSONValue = [["id": 1, "done": false], ["id": 2, "done": false]]
        let new: JSONValue = [["id": 1, "done": false], ["id": 2, "done": true]]
        #expect(try diff(old, new) == [.replace(path: pointer("1", "done"), value: true)])
    }

    @Test func largeUnrelatedArraysStillDiffCorrectly() throws {
        let old = JSONValue.array((0..<3000).map { .integer($0) })
        let new = JSONValue.array((0..<3000).map { .integer(($0 * 7919) % 3001) })
        _ = try diff(old, new)
    }
}
