import Testing

@testable import JSONSchema

@Suite struct URIReferenceTests {
    /// RFC 3986 section 5.4.1, the normal examples, against base `http://a/b/c/d;p?q`.
    @Test(arguments: [
        ("g:h", "g:h"), ("g", "http://a/b/c/g"), ("./g", "http://a/b/c/g"), ("g/", "http://a/b/c/g/"),
        ("/g", "http://a/g"), ("//g", "http://g"), ("?y", "http://a/b/c/d;p?y"), ("g?y", "http://a/b/c/g?y"),
        ("#s", "http://a/b/c/d;p?q#s"), ("g#s", "http://a/b/c/g#s"), ("g?y#s", "http://a/b/c/g?y#s"),
        (";x", "http://a/b/c/;x"), ("g;x", "http://a/b/c/g;x"), ("", "http://a/b/c/d;p?q"), (".", "http://a/b/c/"),
        ("./", "http://a/b/c/"), ("..", "http://a/b/"), ("../", "http://a/b/"), ("../g", "http://a/b/g"),
        ("../..", "http://a/"), ("../../", "http://a/"), ("../../g", "http://a/g"),
    ])
    func resolvesLikeRFC3986(reference: String, expected: String) {
        let base = URIReference(parsing: "http://a/b/c/d;p?q")
        #expect(URIReference(parsing: reference).resolved(against: base).text == expected)
    }

    @Test func urnsAndFragments() {
        let base = URIReference(parsing: "urn:uuid:deadbeef-1234-0000-0000-4321feebdaed")
        #expect(URIReference(parsing: "#/$defs/bar").resolved(against: base).text == "urn:uuid:deadbeef-1234-0000-0000-4321feebdaed#/$defs/bar")
        #expect(URIReference(parsing: "http://x/y#a").withoutFragment.text == "http://x/y")
    }

    @Test func percentDecoding() {
        #expect(URIReference.percentDecoded("/%24defs/a%25b") == "/$defs/a%b")
        #expect(URIReference.percentDecoded("%zz") == nil)
        #expect(URIReference.percentDecoded("%") == nil)
    }

    @Test func patternTranslation() throws {
        #expect(try ECMAPattern.translate(#"^\cJ[^]$"#) == #"^\u{a}[\s\S]$"#)
        #expect(try ECMAPattern.translate("a[]b") == "a(?!)b")
        #expect(try ECMAPattern.translate(#"[\]]x"#) == #"[\]]x"#)
        #expect(throws: ECMAPattern.PatternError.self) { try ECMAPattern.translate("a\\") }
    }
}
