import JSONPatch
import JSONSchema

/// `PatchsyncBench validation`: the cost of checking a declared type's document after a
/// one-value change, by a full validation and by the incremental one the server uses.
enum ValidationBenchmark {
    static let entryCounts = [100, 10_000]

    /// A line's machines keyed by name, each with a status, a counter and alarms.
    static let schema: JSONValue = [
        "type": "object",
        "required": ["line", "machines"],
        "additionalProperties": false,
        "properties": [
            "line": ["type": "string", "minLength": 1],
            "machines": [
                "type": "object",
                "propertyNames": ["pattern": "^M[0-9]+$"],
                "additionalProperties": ["$ref": "#/$defs/machine"],
            ],
        ],
        "$defs": [
            "machine": [
                "type": "object",
                "required": ["status", "count"],
                "additionalProperties": false,
                "properties": [
                    "status": ["enum": ["run", "stop", "alarm"]],
                    "count": ["type": "integer", "minimum": 0],
                    "alarms": ["type": "array", "items": ["type": "string", "maxLength": 64]],
                ],
            ]
        ],
    ]

    static func main(arguments: ArraySlice<String>) -> Int32 {
        guard arguments.isEmpty else {
            print("usage: PatchsyncBench validation")
            return 2
        }
        do {
            try run()
            return 0
        } catch {
            print("validation benchmark failed: \(error)")
            return 1
        }
    }

    private static func run() throws {
        let compiled = try JSONSchema(compiling: schema)
        print("Declared type, one machine's counter changed; median time per change, microseconds")
        print(padded("entries", 9) + padded("apply µs", 11) + padded("full validation µs", 21)
            + padded("incremental µs", 17) + padded("Todo diff µs", 13))
        for entries in entryCounts {
            let document = machines(entries)
            let path = JSONPointer(tokens: ["machines", "M\(entries / 2)", "count"])
            let patch = JSONPatch([.replace(path: path, value: 7)])
            let changed = try patch.apply(to: document)
            let paths = JSONSchema.changedPaths(of: patch.operations, in: changed)
            guard compiled.firstFailure(in: changed) == nil,
                compiled.firstFailure(in: changed, changedPaths: paths) == nil
            else { throw BenchmarkError("the benchmark document does not validate") }
            let apply = try CoreBenchmark.median { _ = try patch.apply(to: document) }
            let full = try CoreBenchmark.median { _ = compiled.firstFailure(in: changed) }
            let incremental = try CoreBenchmark.median { _ = compiled.firstFailure(in: changed, changedPaths: paths) }
            // The Todo list's own per-action work beside it: the diff after a one-row change.
            let todo = CoreBenchmark.todoDocument(rows: entries)
            let todoChanged = CoreBenchmark.completing(row: entries / 2, of: todo)
            let todoDiff = try CoreBenchmark.median { _ = try JSONPatch.diff(from: todo, to: todoChanged) }
            print(padded("\(entries)", 9) + padded(formatted(apply, digits: 2), 11) + padded(formatted(full, digits: 1), 21)
                + padded(formatted(incremental, digits: 2), 17) + padded(formatted(todoDiff, digits: 2), 13))
        }
    }

    static func machines(_ count: Int) -> JSONValue {
        var machines = JSONObject()
        for number in 1...count {
            machines["M\(number)"] = [
                "status": number % 7 == 0 ? "alarm" : "run",
                "count": .integer(Int64(number)),
                "alarms": number % 7 == 0 ? ["jam at feeder"] : [],
            ]
        }
        return ["line": "line-3", "machines": .object(machines)]
    }
}
