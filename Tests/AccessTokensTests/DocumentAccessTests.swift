import SyncAPI
import SyncEngine
import Testing

struct DocumentAccessTests {
    @Test(arguments: [
        ("line-*", "line-3", true), ("line-*", "line-", true), ("line-*", "line", false), ("*", "anything", true),
        ("line-?", "line-3", true), ("line-?", "line-33", false), ("line-3", "line-3", true), ("line-3", "line-33", false),
        ("*-3", "line-3", true), ("*-3", "line-4", false), ("a*b*c", "aXbYc", true), ("a*b*c", "aXbYd", false),
        ("", "x", false), ("**", "x", true), ("l*e-*", "line-3", true),
        // Found by FuzzTokenParser: a star in the pattern was matched as a literal against one in the name.
        ("*", "*line-3", true), ("a*", "a*b", true),
    ])
    func globs(_ pattern: String, _ name: String, _ matches: Bool) {
        #expect(DocumentPattern(pattern).matches(name) == matches)
    }

    @Test func aLongPatternDoesNotTakeExponentialTime() {
        let pattern = DocumentPattern(String(repeating: "*a", count: 30) + "b")
        #expect(!pattern.matches(String(repeating: "a", count: 64)))
    }

    @Test func writeImpliesReadAndAdminImpliesBoth() {
        let operator3 = DocumentAccess(
            author: "line-3 operator", read: [DocumentPattern("line-*")], write: [DocumentPattern("line-3")])
        let line3 = DocumentName("line-3")!
        let line4 = DocumentName("line-4")!
        let other = DocumentName("office")!
        #expect(operator3.role(on: line3) == .editor)
        #expect(operator3.role(on: line4) == .viewer)
        #expect(operator3.role(on: other) == nil)
        #expect(DocumentAccess(write: [DocumentPattern("office")]).mayRead(other))
        let admin = DocumentAccess(admin: true)
        #expect(admin.role(on: other) == .editor)
        #expect(DocumentAccess.readEverything.role(on: other) == .viewer)
        #expect(!DocumentAccess.readEverything.mayWriteAnything)
        #expect(DocumentAccess.everything.role(on: other) == .editor)
    }
}
