import JSONCodec
import JSONPatch
import TestSupport
import Testing

@Suite struct RoundTripTests {
    /// encode → decode gives the same value with the same kinds of numbers (compared through a
    /// second encoding, since `==` treats 1 and 1.0 alike).
    @Test func randomDocumentsRoundTrip() throws {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<2000 {
            let value = randomValue(&generator, depth: 4)
            let encoded = try JSONCodec.encode(value)
            let decoded = try JSONCodec.decode(encoded)
            #expect(decoded == value)
            #expect(try JSONCodec.encode(decoded) == encoded)
        }
    }

    /// Every double reads back bit for bit.
    @Test func realsRoundTripExactly() throws {
        var generator = SeededGenerator(seed: 11)
        let special: [Double] = [
            .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
            .ulpOfOne, 1 / 3, 2.0 / 3, 1e21, 1e-7, 123456789012345680, 0.30000000000000004,
        ]
        let random = (0..<20_000).map { _ in Double(bitPattern: generator.next()) }.filter(\.isFinite)
        for number in special + random {
            let decoded = try JSONCodec.decode(JSONCodec.encode(.real(number)))
            guard case .real(let back) = decoded else {
                Issue.record("\(number) read back as \(decoded)")
                continue
            }
            #expect(back.bitPattern == number.bitPattern, "\(number)")
        }
    }

    @Test func int64EdgesRoundTrip() throws {
        for number: Int64 in [.min, .min + 1, -1, 0, 1, .max - 1, .max, 1 << 53, (1 << 53) + 1] {
            #expect(try JSONCodec.decode(JSONCodec.encode(.integer(number))) == .integer(number))
        }
    }
}

func randomValue(_ generator: inout SeededGenerator, depth: Int) -> JSONValue {
    let strings = ["", "a", "~/", "nul\u{0}", "\"quoted\"", "tab\t", "日本", "🙂", "\u{1F}", "\\"]
    switch Int.random(in: 0..<(depth > 0 ? 9 : 6), using: &generator) {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &generator))
    case 2: return .integer(Int64.random(in: .min ... .max, using: &generator))
    case 3:
        let real = Double(bitPattern: generator.next())
        return .real(real.isFinite ? real : 0.25)
    case 4, 5: return .string(strings[Int.random(in: 0..<strings.count, using: &generator)])
    case 6, 7:
        let count = Int.random(in: 0..<5, using: &generator)
        return .array((0..<count).map { _ in randomValue(&generator, depth: depth - 1) })
    default:
        var object = JSONObject()
        for _ in 0..<Int.random(in: 0..<5, using: &generator) {
            // jansson cannot decode U+0000 in keys (see DecodingTests.nulInKeysIsAnError).
            let key = strings[Int.random(in: 0..<strings.count, using: &generator)].replacing("\u{0}", with: "0")
            object[key] = randomValue(&generator, depth: depth - 1)
        }
        return .object(object)
    }
}
