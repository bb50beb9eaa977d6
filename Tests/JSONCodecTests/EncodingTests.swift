import JSONCodec
import JSONPatch
import Testing

@Suite struct EncodingTests {
    @Test func outputIsCompactInMemberOrder() throws {
        let value: JSONValue = ["b": [1, 2.5, nil, true], "a": ["": "x"], "c": [:]]
        #expect(try JSONCodec.encodeString(value) == #"{"b":[1,2.5,null,true],"a":{"":"x"},"c":{}}"#)
    }

    @Test func scalarsAtTheRoot() throws {
        #expect(try JSONCodec.encodeString(nil) == "null")
        #expect(try JSONCodec.encodeString(false) == "false")
        #expect(try JSONCodec.encodeString(.integer(.min)) == "-9223372036854775808")
        #expect(try JSONCodec.encodeString(.integer(.max)) == "9223372036854775807")
        #expect(try JSONCodec.encodeString(0) == "0")
        #expect(try JSONCodec.encodeString("é") == "\"é\"")
    }

    @Test func realsAlwaysReadBackAsReals() throws {
        #expect(try JSONCodec.encodeString(1.0) == "1.0")
        #expect(try JSONCodec.encodeString(-0.0) == "-0.0")
        #expect(try JSONCodec.encodeString(0.1) == "0.1")
        guard case .real(let big) = try JSONCodec.decode(JSONCodec.encode(.real(1e300))) else {
            Issue.record("1e300 did not read back as a real")
            return
        }
        #expect(big == 1e300)
    }

    @Test func stringsEscapeOnlyWhatJSONRequires() throws {
        let text = "q\" b\\ n\n t\t r\r f\u{0C} b\u{08} nul\u{0} us\u{1F} / 日🙂 \u{7F}"
        let encoded = try JSONCodec.encodeString(.string(text))
        #expect(encoded == #""q\" b\\ n\n t\t r\r f\f b\b nul\u0000 us\u001f / 日🙂 \#u{7F}""#)
        #expect(try JSONCodec.decode(encoded) == .string(text))
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteRealsAreErrors(_ number: Double) {
        #expect(throws: JSONEncodingError(reason: .nonFiniteNumber)) {
            try JSONCodec.encode(["x": [.real(number)]])
        }
    }

    /// Found by FuzzPatchApply: a pointer token may hold U+0000 (RFC 6901 allows it), so a patch
    /// can create a key holding it, which jansson refuses to read. Encoding refuses it too, rather
    /// than writing a log line or snapshot that would not load.
    @Test func aKeyHoldingNULIsAnErrorNotUnreadableText() throws {
        let patched = try JSONPatch([.add(path: JSONPointer(parsing: "/a\u{0}b"), value: 1)]).apply(to: [:])
        #expect(throws: JSONEncodingError(reason: .nulInKey)) { try JSONCodec.encode(["x": patched]) }
        // In a string value it is fine: jansson reads it back.
        #expect(try JSONCodec.encodeString(["a": "\u{0}"]) == #"{"a":"\u0000"}"#)
    }

    @Test func nestingBeyondTheLimitIsAnError() throws {
        var value: JSONValue = 1
        for _ in 0..<JSONLimits.maximumDepth { value = [value] }
        _ = try JSONCodec.encode(value)
        value = ["k": value]
        #expect(throws: JSONEncodingError(reason: .tooDeep)) { try JSONCodec.encode(value) }
    }
}
