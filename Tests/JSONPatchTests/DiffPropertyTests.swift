import JSONPatch
import TestSupport
import Testing

@Suite struct DiffPropertyTests {
    /// apply(a, diff(a, b)) == b, for unrelated pairs and for pairs where b is an edited copy
    /// of a (which takes the diff's shortcut through shared storage).
    @Test(arguments: 0..<8)
    func diffThenApplyGivesTheTarget(batch: Int) throws {
        for round in 0..<500 {
            let seed = UInt64(batch * 1000 + round)
            var random = RandomJSON(seed: seed)
            let a = random.value()
            let b = random.chance(30) ? random.value() : random.edited(a)
            let patch = try JSONPatch.diff(from: a, to: b)
            let patched = try patch.apply(to: a)
            #expect(patched == b, "seed \(seed): \(jsonText(a)) -> \(jsonText(b)) via \(jsonText(patch.jsonValue))")
            if a == b { #expect(patch.isEmpty, "seed \(seed)") }
        }
    }

    @Test func diffOfEqualValuesIsEmpty() throws {
        for seed in UInt64(0)..<300 {
            var random = RandomJSON(seed: seed)
            let a = random.value()
            var copy = RandomJSON(seed: seed)
            let b = copy.value()
            #expect(try JSONPatch.diff(from: a, to: b).isEmpty)
        }
    }

    @Test func diffParsesBackFromItsJSONForm() throws {
        for seed in UInt64(0)..<300 {
            var random = RandomJSON(seed: seed)
            let a = random.value()
            let b = random.edited(a)
            let patch = try JSONPatch.diff(from: a, to: b)
            #expect(try JSONPatch(json: patch.jsonValue) == patch)
        }
    }
}
