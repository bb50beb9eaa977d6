import Foundation
import JSONCodec
import JSONPatch
import Testing

/// One enabled case of the public json-patch-tests suite (tests.json, spec_tests.json).
struct ConformanceCase: Sendable, CustomTestStringConvertible {
    var file: String
    var index: Int
    var comment: String
    var document: JSONValue
    var patch: JSONValue
    var expected: JSONValue?
    var expectedError: String?

    var testDescription: String { "\(file)#\(index) \(comment)" }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// `.keepLast`: a disabled case (A.13) has an operation with two "op" members.
    static func load(_ file: String) -> [ConformanceCase] {
        guard let data = try? Data(contentsOf: fixtures.appendingPathComponent(file)),
            case .array(let entries)? = try? JSONCodec.decode([UInt8](data), duplicateKeys: .keepLast)
        else { return [] }
        return entries.enumerated().compactMap { index, entry in
            guard entry["disabled"]?.boolValue != true, let document = entry["doc"], let patch = entry["patch"]
            else { return nil }
            return ConformanceCase(
                file: file, index: index, comment: entry["comment"]?.stringValue ?? "",
                document: document, patch: patch, expected: entry["expected"],
                expectedError: entry["error"]?.stringValue)
        }
    }

    static let all = load("tests.json") + load("spec_tests.json")
}

@Suite struct ConformanceTests {
    @Test func suiteIsLoaded() {
        // 92 enabled cases in tests.json and 16 in spec_tests.json.
        #expect(ConformanceCase.all.count == 108)
    }

    @Test(arguments: ConformanceCase.all)
    func conformanceCase(_ testCase: ConformanceCase) {
        let result = Result { () throws(JSONPatchError) -> JSONValue in
            try JSONPatch(json: testCase.patch).apply(to: testCase.document)
        }
        switch (result, testCase.expectedError) {
        case (.success(let patched), nil):
            if let expected = testCase.expected { #expect(patched == expected) }
        case (.success(let patched), let message?):
            Issue.record("expected error \"\(message)\", got \(patched)")
        case (.failure(let error), nil):
            Issue.record("unexpected error: \(error)")
        case (.failure(let error), _?):
            #expect(!error.message.isEmpty)
        }
    }
}
