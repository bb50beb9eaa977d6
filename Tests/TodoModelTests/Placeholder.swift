import Testing

@Test func placeholderTodoModelTests() { #expect(Bool(true)) }
