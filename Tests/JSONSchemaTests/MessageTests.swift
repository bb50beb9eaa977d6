import JSONCodec
import JSONPatch
import Testing

@testable import JSONSchema

@Suite struct MessageTests {
    func failures(_ schemaText: String, _ instanceText: String) throws -> [String] {
        let schema = try JSONSchema(compiling: try JSONCodec.decode(schemaText))
        let instance = try JSONCodec.decode(instanceText)
        let all = schema.validate(instance).map(\.description)
        // The server's quick path reports one of the same failures.
        #expect((schema.firstFailure(in: instance) == nil) == all.isEmpty)
        if let first = schema.firstFailure(in: instance) { #expect(all.contains(first.description)) }
        return all
    }

    @Test func enumMessageOfTheIssue() throws {
        let messages = try failures(
            ##"{"properties": {"machines": {"additionalProperties": {"properties": {"status": {"enum": ["run", "stop", "alarm"]}}}}}}"##,
            ##"{"machines": {"M3": {"status": "jammed"}}}"##)
        #expect(messages == [##"/machines/M3/status: "jammed" is not one of "run", "stop", "alarm" (enum)"##])
    }

    @Test func innermostKeywordThroughThenAndRef() throws {
        let messages = try failures(
            ##"{"$defs": {"alarmed": {"required": ["alarms"]}}, "if": {"properties": {"status": {"const": "alarm"}}}, "then": {"$ref": "#/$defs/alarmed"}}"##,
            ##"{"status": "alarm"}"##)
        #expect(messages == [##": required property "alarms" is missing (required)"##])
    }

    @Test func everyFailureIsReported() throws {
        let messages = try failures(
            ##"{"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}, "s": {"maxLength": 2}}, "additionalProperties": false}"##,
            ##"{"n": 0, "s": "abc", "x": 1}"##)
        #expect(messages == [
            "/n: 0 is less than the minimum 1 (minimum)",
            ##"/s: "abc" is longer than 2 characters (maxLength)"##,
            ##"/x: property "x" is not allowed (additionalProperties)"##,
        ])
    }

    @Test func typeAndCountMessages() throws {
        #expect(try failures(##"{"type": ["string", "null"]}"##, "5") == [": 5 is not a string or null (type)"])
        #expect(try failures(##"{"type": "object"}"##, "[1]") == [": [1] is not an object (type)"])
        #expect(try failures(##"{"minItems": 2}"##, "[1]") == [": has 1 item, fewer than 2 (minItems)"])
        #expect(try failures(##"{"uniqueItems": true}"##, "[1, 2, 1.0]") == [": items 0 and 2 are equal (uniqueItems)"])
        #expect(try failures(##"{"items": false, "prefixItems": [{}]}"##, "[1, 2]") == ["/1: item 1 is not allowed (items)"])
        #expect(try failures(##"{"contains": {"type": "string"}}"##, "[1]") == [": no item matches the contains schema (contains)"])
        #expect(try failures(##"{"dependentRequired": {"a": ["b"]}}"##, ##"{"a": 1}"##) == [##": property "b" is required when "a" is present (dependentRequired)"##])
    }

    @Test func propertyNamesSayItIsTheName() throws {
        #expect(try failures(##"{"propertyNames": {"pattern": "^[a-z]+$"}}"##, ##"{"Ab": 1}"##)
            == [##"/Ab: property name "Ab" does not match the pattern "^[a-z]+$" (pattern)"##])
    }

    @Test func alternativesNameTheClosestBranch() throws {
        let messages = try failures(
            ##"{"oneOf": [{"type": "string"}, {"properties": {"kind": {"const": "a"}}, "required": ["kind"]}]}"##,
            ##"{"kind": "b"}"##)
        #expect(messages == [##": {"kind":"b"} matches none of the 2 schemas of oneOf; closest: /kind: "b" is not "a" (const) (oneOf)"##])
    }

    @Test func unevaluatedPropertiesSeeThroughApplicators() throws {
        let schema = ##"{"allOf": [{"properties": {"a": {}}}], "anyOf": [{"properties": {"b": {}}}, {"required": ["zz"]}], "unevaluatedProperties": false}"##
        #expect(try failures(schema, ##"{"a": 1, "b": 2}"##).isEmpty)
        #expect(try failures(schema, ##"{"a": 1, "c": 2}"##) == [##"/c: property "c" is not allowed (unevaluatedProperties)"##])
    }

    @Test func lengthsCountCodePoints() throws {
        #expect(try failures(##"{"maxLength": 2}"##, ##""🙂é""##).isEmpty)
        #expect(try failures(##"{"minLength": 2}"##, ##""🙂""##).count == 1)
    }

    @Test func numbersCompareExactly() throws {
        #expect(try failures(##"{"maximum": 9007199254740992}"##, "9007199254740993").count == 1)
        #expect(try failures(##"{"minimum": 1.5}"##, "2").isEmpty)
        #expect(try failures(##"{"exclusiveMaximum": 2}"##, "1.9999").isEmpty)
        #expect(try failures(##"{"type": "integer"}"##, "3.0").isEmpty)
        #expect(try failures(##"{"multipleOf": 0.01}"##, "19.99").isEmpty)
        #expect(try failures(##"{"multipleOf": 3}"##, "-9").isEmpty)
        #expect(try failures(##"{"multipleOf": 0.123456789}"##, "1e308").count == 1)
    }

    @Test func patternsAreECMAScriptLike() throws {
        // \d is ASCII only, `.` is one code point, and patterns are not anchored.
        #expect(try failures(##"{"pattern": "^\\d$"}"##, ##""\u0660""##).count == 1)
        #expect(try failures(##"{"pattern": "^.$"}"##, ##""🙂""##).isEmpty)
        #expect(try failures(##"{"pattern": "b"}"##, ##""abc""##).isEmpty)
        #expect(try failures(##"{"pattern": "^a$"}"##, ##""a\n""##).count == 1)
        #expect(try failures(##"{"pattern": "^\\cJ$"}"##, ##""\n""##).isEmpty)
        #expect(try failures(##"{"pattern": "^[^]$"}"##, ##""\n""##).isEmpty)
    }

    @Test func booleanSchemas() throws {
        #expect(try failures("true", "1").isEmpty)
        #expect(try failures("false", "1") == [": no value is allowed here (false)"])
    }
}
