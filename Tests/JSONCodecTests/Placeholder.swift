import Testing

@Test func placeholderJSONCodecTests() { #expect(Bool(true)) }
