import JSONPatch
import TestSupport
import Testing

/// Diffing an object against an edited copy visits only the edited members; these cases make
/// sure that shortcut never misses a change.
@Suite struct ObjectLineageTests {
    private func rows(_ count: Int) -> JSONObject {
        var object = JSONObject()
        for row in 0..<count { object[String(row)] = ["name": .string("row \(row)"), "done": false] }
        return object
    }

    private func expectDiff(_ old: JSONObject, _ new: JSONObject, operations count: Int) throws {
        let patch = try JSONPatch.diff(from: .object(old), to: .object(new))
        #expect(try patch.apply(to: .object(old)) == .object(new))
        #expect(patch.operations.count == count)
    }

    @Test func editedCopyDiffsToItsEdits() throws {
        let old = rows(1000)
        var new = old
        new["5"] = "changed"
        new.removeValue(forKey: "7")
        new["new"] = 1
        try expectDiff(old, new, operations: 3)
        try expectDiff(new, old, operations: 3)
    }

    @Test func nestedEditThroughModifyValue() throws {
        let old = rows(1000)
        var new = old
        new.modifyValue(forKey: "9") { member in
            guard case .object(var row)? = member else { return }
            row["done"] = true
            member = .object(row)
        }
        let patch = try JSONPatch.diff(from: .object(old), to: .object(new))
        #expect(patch.operations == [.replace(path: JSONPointer(tokens: ["9", "done"]), value: true)])
        #expect(old["9"]?["done"] == false)
    }

    @Test func originalEditedAfterTheCopyIsStillDiffedCorrectly() throws {
        var old = rows(100)
        var new = old
        new["1"] = "changed in new"
        old["2"] = "changed in old after the copy"
        try expectDiff(old, new, operations: 2)
    }

    @Test func copyOfACopyIsDiffedAgainstTheFirst() throws {
        let first = rows(100)
        var second = first
        second["1"] = 1
        var third = second
        third["2"] = 2
        try expectDiff(first, third, operations: 2)
        try expectDiff(second, third, operations: 1)
    }

    @Test func editsUndoneCostNothing() throws {
        let old = rows(100)
        var new = old
        let saved = new["3"]
        new["3"] = "temporary"
        new["3"] = saved
        new["x"] = 1
        new.removeValue(forKey: "x")
        try expectDiff(old, new, operations: 0)
    }

    @Test func unrelatedEqualObjectsDiffToNothing() throws {
        try expectDiff(rows(100), rows(100), operations: 0)
    }

    @Test func randomEditSequences() throws {
        for seed in UInt64(0)..<300 {
            var random = RandomJSON(seed: seed)
            let base = rows(20)
            var versions = [base]
            for _ in 0..<5 {
                var next = versions[random.int(0..<versions.count)]
                for _ in 0..<random.int(1..<4) {
                    let key = String(random.int(0..<25))
                    if random.chance(30) { next.removeValue(forKey: key) } else { next[key] = random.value(depth: 2) }
                }
                versions.append(next)
                // Sometimes edit an older version in place after it was copied.
                let older = random.int(0..<versions.count)
                if random.chance(20) { versions[older][String(random.int(0..<25))] = random.scalar() }
            }
            for old in versions {
                for new in versions {
                    let patch = try JSONPatch.diff(from: .object(old), to: .object(new))
                    #expect(try patch.apply(to: .object(old)) == .object(new), "seed \(seed)")
                }
            }
        }
    }
}
