import JSONPatch
import Testing

@Suite struct ApplyTests {
    private func patch(_ json: JSONValue) throws -> JSONPatch {
        try JSONPatch(json: json)
    }

    private func error(applying json: JSONValue, to document: JSONValue) -> JSONPatchError? {
        do {
            _ = try JSONPatch(json: json).apply(to: document)
            return nil
        } catch {
            return error
        }
    }

    @Test func allSixOperations() throws {
        let document: JSONValue = ["a": [1, 2, 3], "b": ["c": "x"]]
        let result = try patch([
            ["op": "add", "path": "/a/-", "value": 4],
            ["op": "remove", "path": "/a/0"],
            ["op": "replace", "path": "/b/c", "value": "y"],
            ["op": "move", "from": "/b/c", "path": "/d"],
            ["op": "copy", "from": "/a", "path": "/b/e"],
            ["op": "test", "path": "/b/e", "value": [2, 3, 4.0]],
        ]).apply(to: document)
        #expect(result == ["a": [2, 3, 4], "b": ["e": [2, 3, 4]], "d": "y"])
    }

    @Test func failureNamesTheOperationAndLeavesTheDocumentAlone() throws {
        let document: JSONValue = ["a": 1]
        let failing = try patch([
            ["op": "add", "path": "/b", "value": 2],
            ["op": "replace", "path": "/a", "value": 3],
            ["op": "remove", "path": "/nope/x"],
        ])
        #expect(throws: JSONPatchError.self) { try failing.apply(to: document) }
        do {
            _ = try failing.apply(to: document)
        } catch {
            #expect(error.operationIndex == 2)
            #expect(error.kind == .pathNotFound)
            #expect(error.operationName == "remove")
            #expect(error.description.hasPrefix("operation 2 (remove): "))
            #expect(error.description.contains("/nope/x"))
        }
        #expect(document == ["a": 1])
    }

    @Test func inPlaceGivesTheSameDocumentAndKeepsEarlierOperationsOnFailure() throws {
        var document: JSONValue = ["name": "", "todos": ["1": ["name": "a", "completed": false]]]
        let change = try patch([
            ["op": "add", "path": "/todos/2", "value": ["name": "b", "completed": true]],
            ["op": "replace", "path": "/name", "value": "list"],
            ["op": "add", "path": "/list", "value": [1]],
            ["op": "add", "path": "/list/0", "value": 0],
            ["op": "remove", "path": "/list/1"],
        ])
        let expected = try change.apply(to: document)
        try change.applyInPlace(to: &document)
        #expect(document == expected)
        #expect(document == ["name": "list", "todos": ["1": ["name": "a", "completed": false], "2": ["name": "b", "completed": true]], "list": [0]])

        let failing = try patch([
            ["op": "remove", "path": "/todos/1"],
            ["op": "remove", "path": "/todos/9"],
        ])
        var partial = document
        do {
            try failing.applyInPlace(to: &partial)
            Issue.record("removing a missing row must fail")
        } catch {
            #expect(error.operationIndex == 1)
        }
        // Documented: not atomic. The first removal stays; `document`, shared into `partial`, is untouched.
        #expect(partial["todos"]?["1"] == nil && partial["todos"]?["2"] != nil)
        #expect(document == expected)
    }

    @Test func atomicityHoldsForSharedNestedStorage() throws {
        var inner = JSONObject()
        inner["k"] = [1, 2]
        let document: JSONValue = ["outer": .object(inner), "list": [.object(inner)]]
        let snapshot = document
        let failing = try patch([
            ["op": "add", "path": "/outer/k/0", "value": 0],
            ["op": "remove", "path": "/list/0/k/1"],
            ["op": "test", "path": "/outer/k", "value": "no"],
        ])
        #expect(throws: JSONPatchError.self) { try failing.apply(to: document) }
        #expect(document == snapshot)
        #expect(document["outer"] == ["k": [1, 2]])
        #expect(inner["k"] == [1, 2])
    }

    static let failingOperations: [(JSONValue, JSONPatchError.Kind)] = [
        (["op": "replace", "path": "/x", "value": 1], .pathNotFound),
        (["op": "remove", "path": "/a/3"], .invalidIndex),
        (["op": "add", "path": "/a/4", "value": 1], .invalidIndex),
        (["op": "add", "path": "/a/01", "value": 1], .invalidIndex),
        (["op": "add", "path": "/a/-1", "value": 1], .invalidIndex),
        (["op": "remove", "path": "/a/-"], .invalidIndex),
        (["op": "add", "path": "/s/x", "value": 1], .pathNotFound),
        (["op": "add", "path": "/x/y", "value": 1], .pathNotFound),
        (["op": "test", "path": "/s", "value": "other"], .testFailed),
        (["op": "test", "path": "/t", "value": 1], .testFailed),
        (["op": "move", "from": "/o", "path": "/o/inner"], .moveIntoDescendant),
        (["op": "copy", "from": "/missing", "path": "/b"], .pathNotFound),
        (["op": "remove", "path": ""], .pathNotFound),
        (["op": "add", "path": "a", "value": 1], .invalidPointer),
        (["op": "add", "path": "/a~2", "value": 1], .invalidPointer),
        (["op": "frobnicate", "path": "/a"], .malformedPatch),
        (["op": "add", "path": "/a"], .malformedPatch),
        (["op": "move", "path": "/a"], .malformedPatch),
        (["op": "add", "path": 3, "value": 1], .malformedPatch),
        (["op": 1, "path": "/a"], .malformedPatch),
        (["path": "/a"], .malformedPatch),
        ("not an object", .malformedPatch),
    ]

    @Test(arguments: failingOperations)
    func errorsSayWhatWentWrong(_ operation: JSONValue, _ kind: JSONPatchError.Kind) {
        let document: JSONValue = ["a": [1, 2, 3], "s": "str", "t": true, "o": ["inner": 1]]
        let failure = error(applying: [["op": "test", "path": "/t", "value": true], operation], to: document)
        #expect(failure?.kind == kind)
        #expect(failure?.operationIndex == 1)
        #expect(failure?.message.isEmpty == false)
    }

    @Test func aPatchMustBeAnArray() {
        #expect(throws: JSONPatchError.self) { try JSONPatch(json: ["op": "add"]) }
    }

    @Test func testComparesNumbersByValueAndTellsBooleansFromNumbers() throws {
        let document: JSONValue = ["n": 1, "b": true, "o": ["x": 1.0, "y": [2]]]
        _ = try patch([["op": "test", "path": "/n", "value": 1.0]]).apply(to: document)
        _ = try patch([["op": "test", "path": "/o", "value": ["y": [2.0], "x": 1]]]).apply(to: document)
        #expect(error(applying: [["op": "test", "path": "/b", "value": 1]], to: document)?.kind == .testFailed)
        #expect(error(applying: [["op": "test", "path": "/n", "value": true]], to: document)?.kind == .testFailed)
    }

    @Test func keysThatLookLikeIndicesOrNeedEscaping() throws {
        let document: JSONValue = ["-": 1, "01": 2, "a/b": ["~": 3], "": 4]
        let result = try patch([
            ["op": "replace", "path": "/-", "value": 10],
            ["op": "replace", "path": "/01", "value": 20],
            ["op": "replace", "path": "/a~1b/~0", "value": 30],
            ["op": "replace", "path": "/", "value": 40],
        ]).apply(to: document)
        #expect(result == ["-": 10, "01": 20, "a/b": ["~": 30], "": 40])
    }

    @Test func jsonFormRoundTrips() throws {
        let operations: [PatchOperation] = [
            .add(path: JSONPointer(tokens: ["a/b", "~"]), value: [1]),
            .remove(path: .root.appending(index: 0)),
            .replace(path: .root, value: nil),
            .move(from: JSONPointer(tokens: ["x"]), path: JSONPointer(tokens: ["y"])),
            .copy(from: JSONPointer(tokens: [""]), path: JSONPointer(tokens: ["z"])),
            .test(path: JSONPointer(tokens: ["t"]), value: "v"),
        ]
        let patch = JSONPatch(operations)
        #expect(try JSONPatch(json: patch.jsonValue) == patch)
        #expect(patch.operations[2].jsonValue == ["op": "replace", "path": "", "value": nil])
        #expect(patch.operations[0].jsonValue == ["op": "add", "path": "/a~1b/~0", "value": [1]])
    }
}
