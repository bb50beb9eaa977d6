import Testing

@Test func placeholderServerTests() { #expect(Bool(true)) }
