import Testing

@Test func placeholderJSONPatchTests() { #expect(Bool(true)) }
