import JSONCodec
import JSONPatch
import Testing

@Suite struct DecodingTests {
    @Test func scalarsAtTheRoot() throws {
        #expect(try JSONCodec.decode("null") == .null)
        #expect(try JSONCodec.decode(" true ") == .bool(true))
        #expect(try JSONCodec.decode("false") == .bool(false))
        #expect(try JSONCodec.decode("-12") == .integer(-12))
        #expect(try JSONCodec.decode("\"x\"") == .string("x"))
        guard case .real(let half) = try JSONCodec.decode("0.5") else {
            Issue.record("0.5 is not a real")
            return
        }
        #expect(half == 0.5)
    }

    @Test func integersAndRealsKeepTheirKind() throws {
        guard case .integer(3) = try JSONCodec.decode("3") else { Issue.record("3 is not an integer"); return }
        guard case .real(3.0) = try JSONCodec.decode("3.0") else { Issue.record("3.0 is not a real"); return }
        guard case .real(100.0) = try JSONCodec.decode("1e2") else { Issue.record("1e2 is not a real"); return }
    }

    @Test func int64EdgesDecodeExactly() throws {
        #expect(try JSONCodec.decode("9223372036854775807") == .integer(.max))
        #expect(try JSONCodec.decode("-9223372036854775808") == .integer(.min))
    }

    @Test(arguments: ["9223372036854775808", "-9223372036854775809", "1e400", "-1e400", "[1, 99999999999999999999]"])
    func numbersOutOfRangeAreErrors(_ text: String) {
        #expect(reason(of: text) == .numberOutOfRange)
    }

    @Test func nulInStringsIsKept() throws {
        #expect(try JSONCodec.decode(#""a\u0000b""#) == .string("a\u{0}b"))
        #expect(try JSONCodec.decode(#"{"k":"\u0000"}"#) == ["k": .string("\u{0}")])
    }

    @Test func nulInKeysIsAnError() {
        #expect(reason(of: #"{"a\u0000b": 1}"#) == .nulInKey)
    }

    @Test func unicodeEscapesAndRawUTF8() throws {
        #expect(try JSONCodec.decode(#""\u65e5\ud83d\ude42""#) == .string("日🙂"))
        #expect(try JSONCodec.decode(Array("\"日🙂\"".utf8)) == .string("日🙂"))
    }

    @Test(arguments: [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D]] as [[UInt8]])
    func invalidUTF8IsAnError(_ bytes: [UInt8]) {
        #expect(reason(of: bytes) == .invalidUTF8)
    }

    @Test func duplicateKeysAreRejectedByDefault() throws {
        let text = #"{"a": 1, "a": 2}"#
        #expect(reason(of: text) == .duplicateKey)
        #expect(try JSONCodec.decode(text, duplicateKeys: .keepLast) == ["a": 2])
    }

    @Test func membersKeepTheirOrder() throws {
        let value = try JSONCodec.decode(#"{"z": 1, "a": 2, "m": 3}"#)
        #expect(value.objectValue.map { Array($0.keys) } == ["z", "a", "m"])
    }

    @Test(arguments: ["", "{", "[1,]", "1 2", "{\"a\" 1}", "nul", "'x'", "[1] x", "\"\\q\""])
    func syntaxErrors(_ text: String) {
        #expect(reason(of: text) == .syntax)
    }

    @Test func errorsCarryLineAndColumn() {
        do {
            _ = try JSONCodec.decode("[\n  1,\n  ]")
            Issue.record("decoded invalid JSON")
        } catch {
            #expect(error.reason == .syntax)
            #expect(error.line == 3)
            #expect(error.column == 3)
            #expect(error.position == 10)
            #expect(error.description.contains("line 3"))
        }
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        let depth = JSONLimits.maximumDepth
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let value = try JSONCodec.decode(text)
        #expect(!value.isNested(deeperThan: depth))
        #expect(value.isNested(deeperThan: depth - 1))
    }

    @Test func nestingBeyondTheLimitIsAnError() {
        let depth = JSONLimits.maximumDepth + 1
        let text = "\n" + String(repeating: "{\"k\":[", count: depth / 2 + 1) + "1"
            + String(repeating: "]}", count: depth / 2 + 1)
        do {
            _ = try JSONCodec.decode(text)
            Issue.record("decoded a value nested \(depth) deep")
        } catch {
            #expect(error.reason == .tooDeep)
            #expect(error.line == 2)
            // The 513th opening bracket.
            #expect(error.column == 6 * 256 + 1)
        }
    }

    @Test func nestingFarBeyondJanssonsOwnLimitIsAnError() {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(reason(of: text) == .tooDeep)
    }

    private func reason(of text: String) -> JSONDecodingError.Reason? {
        reason(of: Array(text.utf8))
    }

    private func reason(of bytes: [UInt8]) -> JSONDecodingError.Reason? {
        do {
            _ = try JSONCodec.decode(bytes)
            return nil
        } catch {
            #expect(!error.message.isEmpty)
            return error.reason
        }
    }
}
