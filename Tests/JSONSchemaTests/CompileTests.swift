import JSONCodec
import JSONPatch
import Testing

@testable import JSONSchema

@Suite struct CompileTests {
    func compileError(_ text: String) -> SchemaCompileError? {
        do {
            _ = try JSONSchema(compiling: try JSONCodec.decode(text))
            return nil
        } catch let error as SchemaCompileError {
            return error
        } catch {
            Issue.record("not JSON: \(error)")
            return nil
        }
    }

    @Test func unknownKeywordIsRefusedWithItsPointer() {
        let error = compileError(##"{"properties": {"name": {"type": "string", "maxLenght": 3}}}"##)
        #expect(error?.schemaPointer.description == "/properties/name/maxLenght")
        #expect(error?.description == ##"/properties/name/maxLenght: unknown keyword "maxLenght" (annotations of your own must start with x-)"##)
    }

    @Test func unsupportedKeywordsAreNamed() {
        #expect(compileError(##"{"$dynamicRef": "#meta"}"##)?.reason == "$dynamicRef is not supported by this validator")
        #expect(compileError(##"{"definitions": {}}"##)?.reason == "definitions is not a draft 2020-12 keyword; use $defs")
    }

    @Test func annotationsAndExtensionsAreAccepted() throws {
        _ = try JSONSchema(compiling: try JSONCodec.decode("""
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "t", "description": "d",
             "examples": [1], "format": "date", "default": 1, "deprecated": false, "readOnly": true,
             "writeOnly": false, "$comment": "c", "x-patchsync": {"documents": ["line-*"]}}
            """))
    }

    @Test func otherDraftsAreRefused() {
        let error = compileError(##"{"$schema": "http://json-schema.org/draft-07/schema#"}"##)
        #expect(error?.schemaPointer.description == "/$schema")
    }

    @Test func unknownKeywordsCanBeIgnoredOnRequest() throws {
        let schema = try JSONSchema(
            compiling: try JSONCodec.decode(##"{"maxLenght": 3, "type": "string"}"##),
            options: .init(ignoresUnknownKeywords: true))
        #expect(schema.isValid("abcdef"))
        #expect(!schema.isValid(1))
    }

    @Test func malformedKeywordValues() {
        #expect(compileError(##"{"minLength": -1}"##)?.schemaPointer.description == "/minLength")
        #expect(compileError(##"{"type": "text"}"##)?.schemaPointer.description == "/type")
        #expect(compileError(##"{"multipleOf": 0}"##)?.schemaPointer.description == "/multipleOf")
        #expect(compileError(##"{"items": [{}]}"##)?.schemaPointer.description == "/items")
        #expect(compileError(##"{"required": ["a", "a"]}"##)?.schemaPointer.description == "/required")
        #expect(compileError(##"{"properties": {"a": 3}}"##)?.schemaPointer.description == "/properties/a")
        #expect(compileError(##"{"allOf": []}"##)?.schemaPointer.description == "/allOf")
    }

    @Test func unsupportedPatternIsACompileError() {
        let error = compileError(##"{"patternProperties": {"(?<=a)b": {}}}"##)
        #expect(error?.schemaPointer.description == "/patternProperties/(?<=a)b")
        #expect(compileError(##"{"pattern": "(unclosed"}"##)?.schemaPointer.description == "/pattern")
    }

    @Test func referencesOutsideTheFileAreRefused() {
        let error = compileError(##"{"$ref": "https://example.com/other.json"}"##)
        #expect(error?.schemaPointer.description == "/$ref")
        #expect(error?.reason.contains("not in this file") == true)
        #expect(compileError(##"{"$ref": "#/$defs/missing"}"##)?.reason.contains("names nothing") == true)
    }

    @Test func referenceLoopsWithoutProgressAreRefused() {
        #expect(compileError(##"{"$ref": "#"}"##) != nil)
        #expect(compileError(##"{"$defs": {"a": {"allOf": [{"$ref": "#/$defs/b"}]}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}"##) != nil)
        // Recursion through a member is fine: it ends with the instance.
        #expect(compileError(##"{"properties": {"child": {"$ref": "#"}}}"##) == nil)
    }

    @Test func idsAndAnchorsResolveWithinTheFile() throws {
        let schema = try JSONSchema(compiling: try JSONCodec.decode("""
            {"$id": "https://example.com/root.json",
             "properties": {"a": {"$ref": "item.json"}, "b": {"$ref": "#thing"}},
             "$defs": {"item": {"$id": "item.json", "type": "integer"},
                       "thing": {"$anchor": "thing", "type": "string"}}}
            """))
        #expect(schema.isValid(["a": 1, "b": "x"]))
        #expect(!schema.isValid(["a": "x"]))
        #expect(!schema.isValid(["b": 1]))
    }

    @Test func deepSchemasAreRefusedNotCrashed() {
        var text = "true"
        for _ in 0..<400 { text = ##"{"not": "## + text + "}" }
        #expect(compileError(text)?.reason.contains("nests deeper") == true)
    }
}

@Suite struct DepthTests {
    static let recursive = ##"""
        {"anyOf": [{"type": "null"}, {"type": "array", "items": {"$ref": "#"}},
                   {"type": "object", "additionalProperties": {"allOf": [{"$ref": "#"}]}, "unevaluatedProperties": false}]}
        """##

    static func nested(_ depth: Int, around leaf: JSONValue) -> JSONValue {
        var value = leaf
        for level in 0..<depth { value = level % 2 == 0 ? .array([value]) : ["a": value] }
        return value
    }

    /// The deepest document the codec accepts, through a recursive schema with applicators at
    /// every level, on a test task's stack: a failure that says so, never an overflow.
    @Test func deepestDocumentsStopAtTheStackBudget() throws {
        let schema = try JSONSchema(compiling: try JSONCodec.decode(Self.recursive))
        let deepest = Self.nested(JSONLimits.maximumDepth - 1, around: .null)
        let failures = schema.validate(deepest)
        // Optimised builds validate it; debug builds (bigger frames) refuse it as too deep.
        #expect(failures.isEmpty || failures.map(\.keyword) == ["anyOf"] || failures.map(\.keyword) == ["nesting"])
        #expect((schema.firstFailure(in: deepest) == nil) == failures.isEmpty)
        #expect((schema.firstFailure(in: deepest, changedPaths: [.root]) == nil) == failures.isEmpty)
        #expect(schema.validate(Self.nested(JSONLimits.maximumDepth - 1, around: 5)).count == 1)
    }

    @Test func ordinaryDepthsValidate() throws {
        let schema = try JSONSchema(compiling: try JSONCodec.decode(Self.recursive))
        #expect(schema.validate(Self.nested(64, around: .null)).isEmpty)
        #expect(schema.validate(Self.nested(64, around: 5)).map(\.keyword) == ["anyOf"])
    }
}
