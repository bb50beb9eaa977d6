import JSONCodec
import JSONPatch
import Testing

@testable import SyncEngine

/// `author` on events (issue 22): in the log line only when known, in the API always, and
/// lines written before it load unchanged.
@Suite struct EventAuthorTests {
    private func event(author: String?) -> DocumentEvent {
        DocumentEvent(version: 1, time: 5, author: author, action: ["type": "Add"], ops: JSONPatch([]))
    }

    @Test func theLogLineCarriesTheAuthorOnlyWhenKnown() throws {
        let line = try JSONCodec.decode(Array(try event(author: "line-3 operator").encodedLine().dropLast()))
        #expect(line["author"] == "line-3 operator")
        #expect(try DocumentEvent(json: line).author == "line-3 operator")
        let anonymous = try JSONCodec.decode(Array(try event(author: nil).encodedLine().dropLast()))
        #expect(anonymous["author"] == nil)
    }

    @Test func theAPIShowsAnAuthorOnEveryEvent() throws {
        #expect(event(author: nil).jsonValue["author"] == .null)
        #expect(event(author: "quality lead").jsonValue["author"] == "quality lead")
        #expect(try DocumentEvent(json: event(author: nil).jsonValue).author == nil)
    }

    @Test func olderLinesLoadAndAWrongAuthorIsNamed() throws {
        let old = try JSONCodec.decode(#"{"version":1,"time":5,"action":{"type":"Add"},"ops":[]}"#)
        #expect(try DocumentEvent(json: old).author == nil)
        let wrong = try JSONCodec.decode(#"{"version":1,"time":5,"author":3,"action":{"type":"Add"},"ops":[]}"#)
        #expect(throws: EventFormatError.self) { try DocumentEvent(json: wrong) }
    }
}
