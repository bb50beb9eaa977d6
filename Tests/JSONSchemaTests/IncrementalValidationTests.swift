import JSONCodec
import JSONPatch
import TestSupport
import Testing

@testable import JSONSchema

/// `firstFailure(in:changedPaths:)` against a full validation, on random patches of valid
/// documents: the two must always agree on whether the result is valid.
@Suite struct IncrementalValidationTests {
    static let machineLine = """
        {
          "type": "object",
          "required": ["line", "machines"],
          "additionalProperties": false,
          "properties": {
            "line": {"type": "string", "minLength": 1, "maxLength": 8},
            "machines": {
              "type": "object", "maxProperties": 6,
              "propertyNames": {"pattern": "^M[0-9]$"},
              "additionalProperties": {"$ref": "#/$defs/machine"}
            },
            "log": {"type": "array", "maxItems": 4, "items": {"type": "string"}},
            "tags": {"type": "array", "uniqueItems": true, "items": {"type": "string"}},
            "shift": {"anyOf": [{"type": "null"}, {"type": "object", "required": ["lead"]}]}
          },
          "$defs": {
            "machine": {
              "type": "object",
              "required": ["status"],
              "additionalProperties": false,
              "properties": {
                "status": {"enum": ["run", "stop", "alarm"]},
                "count": {"type": "integer", "minimum": 0, "maximum": 100},
                "alarms": {"type": "array", "items": {"$ref": "#/$defs/alarm"}},
                "note": {"type": ["string", "null"]}
              },
              "dependentRequired": {"count": ["status"]},
              "if": {"properties": {"status": {"const": "alarm"}}},
              "then": {"required": ["alarms"]}
            },
            "alarm": {"type": "object", "required": ["code"], "properties": {"code": {"type": "integer"}}}
          }
        }
        """

    static let rows = """
        {
          "type": "array", "minItems": 1, "maxItems": 6,
          "items": {
            "type": "object", "required": ["v"],
            "properties": {"v": {"type": "integer", "multipleOf": 2}, "w": {"items": {"type": "boolean"}}},
            "patternProperties": {"^x": {"type": "string"}},
            "additionalProperties": {"type": "null"}
          }
        }
        """

    static let keys = ["line", "machines", "log", "tags", "shift", "lead", "M1", "M2", "M3", "Q", "status", "count",
        "alarms", "note", "code", "v", "w", "xa", "y"]
    static let values: [JSONValue] = [
        .null, true, false, 0, 2, 5, 101, -1, 2.5, "run", "stop", "alarm", "jammed", "", "L1", "M7",
        [:], ["status": "run"], ["status": "alarm", "alarms": []], ["code": 3], ["code": "x"], ["v": 4], ["v": 3],
        ["lead": "Ann"], [], ["a"], ["a", "a"], [["code": 1]], [true, false], [["v": 2]],
    ]

    @Test(arguments: [(machineLine, 1 as UInt64), (rows, 2 as UInt64)])
    func incrementalAgreesWithFull(schemaText: String, seed: UInt64) throws {
        let schema = try JSONSchema(compiling: try JSONCodec.decode(schemaText))
        var random = SeededGenerator(seed: seed)
        var document: JSONValue = seed == 1
            ? ["line": "L1", "machines": ["M1": ["status": "run", "count": 3]], "log": [], "tags": []]
            : [["v": 2]]
        #expect(schema.validate(document).isEmpty)
        var validResults = 0
        var invalidResults = 0
        for _ in 0..<4000 {
            var operations: [PatchOperation] = []
            var patched = document
            for _ in 0..<random.int(1..<4) {
                guard let operation = randomOperation(on: patched, &random),
                    let next = try? JSONPatch([operation]).apply(to: patched)
                else { continue }
                operations.append(operation)
                patched = next
            }
            let full = schema.validate(patched)
            let quick = schema.firstFailure(in: patched)
            let incremental = schema.firstFailure(in: patched, after: operations)
            #expect(full.isEmpty == (incremental == nil), "\(operations.map(\.jsonValue)) on \(document): full \(full), incremental \(String(describing: incremental))")
            #expect(full.isEmpty == (quick == nil))
            if full.isEmpty {
                document = patched
                validResults += 1
            } else {
                invalidResults += 1
            }
        }
        // Both outcomes are exercised, not just one.
        #expect(validResults > 150)
        #expect(invalidResults > 300)
    }

    func randomOperation(on document: JSONValue, _ random: inout SeededGenerator) -> PatchOperation? {
        let pointers = Self.pointers(in: document)
        let target = pointers[random.int(0..<pointers.count)]
        let value = Self.values[random.int(0..<Self.values.count)]
        switch random.int(0..<5) {
        case 0:
            return .replace(path: target, value: value)
        case 1:
            return target.tokens.isEmpty ? nil : .remove(path: target)
        case 2, 3:
            guard let location = addLocation(in: document, &random) else { return nil }
            if random.int(0..<4) == 0, !target.tokens.isEmpty, !location.hasPrefix(target) {
                return .move(from: target, path: location)
            }
            return .add(path: location, value: value)
        default:
            guard let location = addLocation(in: document, &random) else { return nil }
            return .copy(from: target, path: location)
        }
    }

    func addLocation(in document: JSONValue, _ random: inout SeededGenerator) -> JSONPointer? {
        let containers = Self.pointers(in: document).filter {
            switch try? document.value(at: $0) {
            case .object?, .array?: true
            default: false
            }
        }
        guard !containers.isEmpty else { return nil }
        let container = containers[random.int(0..<containers.count)]
        switch try? document.value(at: container) {
        case .array(let array)?:
            let position = random.int(0..<(array.count + 2))
            return container.appending(position > array.count ? "-" : String(position))
        default:
            return container.appending(Self.keys[random.int(0..<Self.keys.count)])
        }
    }

    static func pointers(in value: JSONValue, at pointer: JSONPointer = .root) -> [JSONPointer] {
        var found = [pointer]
        switch value {
        case .object(let object):
            for (key, member) in object { found += pointers(in: member, at: pointer.appending(key)) }
        case .array(let array):
            for (position, item) in array.enumerated() { found += pointers(in: item, at: pointer.appending(index: position)) }
        default:
            break
        }
        return found
    }

    @Test func unchangedPathsAreNotVisited() throws {
        // A document whose other entries are invalid: only the changed entry is looked at.
        let schema = try JSONSchema(compiling: try JSONCodec.decode(Self.machineLine))
        let document: JSONValue = ["line": "L1", "machines": ["M1": ["status": "jammed"], "M2": ["status": "run"]]]
        #expect(schema.firstFailure(in: document, changedPaths: [JSONPointer(tokens: ["machines", "M2", "status"])]) == nil)
        let failure = schema.firstFailure(in: document, changedPaths: [JSONPointer(tokens: ["machines", "M1", "status"])])
        #expect(failure?.description == "/machines/M1/status: \"jammed\" is not one of \"run\", \"stop\", \"alarm\" (enum)")
    }
}
