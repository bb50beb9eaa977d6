import JSONPatch
import Testing

@Suite struct JSONPointerTests {
    @Test func emptyTextIsTheRoot() throws {
        #expect(try JSONPointer(parsing: "") == .root)
        #expect(JSONPointer.root.description == "")
    }

    @Test(arguments: [
        ("/", [""]), ("/a/b", ["a", "b"]), ("/a~1b", ["a/b"]), ("/m~0n", ["m~n"]), ("/~01", ["~1"]),
        ("/~10", ["/0"]), ("//", ["", ""]), ("/ /é/🙂", [" ", "é", "🙂"]), ("/0/-", ["0", "-"]),
    ])
    func parsesAndUnescapesTokens(_ text: String, _ tokens: [String]) throws {
        let pointer = try JSONPointer(parsing: text)
        #expect(pointer.tokens == tokens)
        #expect(pointer.description == text)
        #expect(JSONPointer(tokens: tokens).description == text)
    }

    @Test func escapingRoundTripsAnyToken() throws {
        for token in ["~", "/", "~/", "/~", "~0", "~1", "a~b/c", "", "~~//"] {
            let pointer = JSONPointer.root.appending(token).appending(index: 3)
            #expect(try JSONPointer(parsing: pointer.description) == pointer)
            #expect(pointer.tokens == [token, "3"])
        }
    }

    @Test func missingLeadingSlashIsAnError() {
        #expect(throws: JSONPointerError(reason: .missingLeadingSlash, pointer: "a/b")) {
            try JSONPointer(parsing: "a/b")
        }
    }

    @Test(arguments: ["/a~", "/a~2", "/~x/b", "/ok/~"])
    func badEscapesNameTheToken(_ text: String) {
        do {
            _ = try JSONPointer(parsing: text)
            Issue.record("parsed \(text)")
        } catch {
            #expect(error.reason == .invalidEscape)
            #expect(error.token != nil && text.contains(error.token ?? "-"))
            #expect(error.description.contains("token"))
        }
    }

    @Test func tooManyTokensIsAnError() {
        let text = String(repeating: "/a", count: JSONLimits.maximumDepth + 1)
        #expect(throws: JSONPointerError(reason: .tooDeep, pointer: text)) { try JSONPointer(parsing: text) }
        let longest = String(repeating: "/a", count: JSONLimits.maximumDepth)
        #expect(throws: Never.self) { try JSONPointer(parsing: longest) }
    }
}
