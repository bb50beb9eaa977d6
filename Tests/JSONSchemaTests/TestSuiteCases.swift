import Foundation
import JSONCodec
import JSONPatch

/// The JSON-Schema-Test-Suite's draft 2020-12 cases (Fixtures/json-schema-test-suite, MIT; the
/// commit is in COMMIT there): one schema group per entry, each with its test cases.
struct TestSuiteGroup: Sendable {
    var file: String
    var description: String
    var schema: JSONValue
    var cases: [(description: String, data: JSONValue, valid: Bool)]

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/json-schema-test-suite/draft2020-12")

    static func loadAll() -> [TestSuiteGroup] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var groups: [TestSuiteGroup] = []
        for file in files.sorted() where file.hasSuffix(".json") {
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(file)),
                case .array(let entries)? = try? JSONCodec.decode([UInt8](data), duplicateKeys: .keepLast)
            else { continue }
            for entry in entries {
                guard let schema = entry["schema"], case .array(let tests)? = entry["tests"] else { continue }
                groups.append(
                    TestSuiteGroup(
                        file: String(file.dropLast(5)), description: entry["description"]?.stringValue ?? "",
                        schema: schema,
                        cases: tests.map {
                            ($0["description"]?.stringValue ?? "", $0["data"] ?? .null, $0["valid"]?.boolValue ?? false)
                        }))
            }
        }
        return groups
    }

    static let all = loadAll()
}

/// The cases this validator does not pass, by `file / group / case`, with the reason. The same
/// list is in docs/validation.md; the suite test fails when a case outside it fails, or when a
/// case inside it starts to pass (so the list never goes stale).
let skippedSuiteCases: [String: String] = [
    "defs / validate definition against metaschema / valid definition schema":
        "$ref to the draft 2020-12 meta-schema, a remote document; nothing is fetched",
    "defs / validate definition against metaschema / invalid definition schema":
        "$ref to the draft 2020-12 meta-schema, a remote document; nothing is fetched",
    "ref / remote ref, containing refs itself / remote ref valid":
        "$ref to the draft 2020-12 meta-schema, a remote document; nothing is fetched",
    "ref / remote ref, containing refs itself / remote ref invalid":
        "$ref to the draft 2020-12 meta-schema, a remote document; nothing is fetched",
    "unevaluatedItems / unevaluatedItems with $dynamicRef / with no unevaluated items":
        "$dynamicRef and $dynamicAnchor are not implemented (refused outside the lenient mode)",
    "unevaluatedProperties / unevaluatedProperties with $dynamicRef / with no unevaluated properties":
        "$dynamicRef and $dynamicAnchor are not implemented (refused outside the lenient mode)",
]
