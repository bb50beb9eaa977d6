import JSONPatch
import JSONValueCoding
import Testing

private struct Sample: Codable, Equatable {
    enum Kind: String, Codable { case small, large }
    struct Inner: Codable, Equatable {
        var flag: Bool
        var ratio: Double
    }

    var zebra: String
    var apple: Int
    var kind: Kind
    var tags: [String]
    var inner: Inner
    var optional: Int8?
    var nested: [[UInt16]]
    var lookup: [String: Int]
}

@Suite struct JSONValueCodingTests {
    private let sample = Sample(
        zebra: "z", apple: -3, kind: .large, tags: ["a", "b"], inner: .init(flag: true, ratio: 0.5),
        optional: nil, nested: [[1, 2], []], lookup: ["k": 1])

    @Test func roundTripsAndKeepsEncodeOrder() throws {
        let json = try JSONValueEncoder().encode(sample)
        #expect(Array(json.objectValue?.keys ?? []) == ["zebra", "apple", "kind", "tags", "inner", "nested", "lookup"])
        #expect(json["apple"] == .integer(-3))
        #expect(json["inner"]?["ratio"] == .real(0.5))
        #expect(json["nested"] == [[1, 2], []])
        #expect(try JSONValueDecoder().decode(Sample.self, from: json) == sample)
    }

    @Test func integersAndRealsMapToTheirJSONKinds() throws {
        #expect(try JSONValueEncoder().encode(UInt64(Int64.max)) == .integer(Int64.max))
        if case .real(let value) = try JSONValueEncoder().encode(Float(1.5)) {
            #expect(value == 1.5)
        } else {
            Issue.record("a Float must encode as a real")
        }
        #expect(try JSONValueDecoder().decode(Int.self, from: .real(3.0)) == 3)
        #expect(try JSONValueDecoder().decode(Double.self, from: .integer(3)) == 3.0)
    }

    @Test func rejectsUnsignedAboveInt64Max() {
        let error = #expect(throws: JSONValueCodingError.self) {
            try JSONValueEncoder().encode(["big": UInt64(Int64.max) + 1])
        }
        #expect(error?.reason == .numberNotRepresentable)
        #expect(error?.path == "big")
    }

    @Test func rejectsNonFiniteNumbers() {
        let error = #expect(throws: JSONValueCodingError.self) { try JSONValueEncoder().encode([1.0, .nan]) }
        #expect(error?.path == "[1]")
    }

    @Test func aFractionIsNotAnInteger() throws {
        let error = #expect(throws: JSONValueCodingError.self) {
            try JSONValueDecoder().decode([Int].self, from: [1, 2, 3.5])
        }
        #expect(error?.reason == .numberNotRepresentable)
        #expect(error?.path == "[2]")
        #expect(error?.description == "[2]: expected an integer, found 3.5")
    }

    @Test func aWholeNumberTooLargePrintsAsAnInteger() throws {
        let error = #expect(throws: JSONValueCodingError.self) {
            try JSONValueDecoder().decode([UInt32].self, from: [.real(99_999_999_999)])
        }
        #expect(error?.description == "[0]: number 99999999999 does not fit in UInt32")
    }

    @Test func mismatchNamesPathExpectedAndFound() throws {
        var object = try #require(try JSONValueEncoder().encode(sample).objectValue)
        object["inner"] = ["flag": "yes", "ratio": 1]
        let error = #expect(throws: JSONValueCodingError.self) {
            try JSONValueDecoder().decode(Sample.self, from: .object(object))
        }
        #expect(error?.reason == .typeMismatch)
        #expect(error?.description == "inner.flag: expected a boolean, found string")
    }

    @Test func missingMemberIsNamed() throws {
        var object = try #require(try JSONValueEncoder().encode(sample).objectValue)
        object["tags"] = nil
        let error = #expect(throws: JSONValueCodingError.self) {
            try JSONValueDecoder().decode(Sample.self, from: .object(object))
        }
        #expect(error?.reason == .missingKey)
        #expect(error?.path == "tags")
    }

    @Test func outOfRangeIntegerIsNamed() {
        let error = #expect(throws: JSONValueCodingError.self) {
            try JSONValueDecoder().decode([String: UInt8].self, from: ["level": 300])
        }
        #expect(error?.path == "level")
        #expect(error?.message.contains("UInt8") == true)
    }

    @Test func invalidEnumValueBecomesACodingError() {
        let error = #expect(throws: JSONValueCodingError.self) {
            try JSONValueDecoder().decode([Sample.Kind].self, from: ["small", "huge"])
        }
        #expect(error?.reason == .invalidValue)
        #expect(error?.path == "[1]")
    }
}
