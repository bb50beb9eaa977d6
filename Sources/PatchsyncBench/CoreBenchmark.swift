import Glibc
import JSONCodec
import JSONPatch

/// `PatchsyncBench core`: times diff and apply (copying, and in place) on Todo-shaped documents where one row changed,
/// as the server does after every action, and encoding the resulting patch.
///
/// The changed document is made the way a state update makes it: by editing a copy of the old
/// one, so unchanged rows share storage with it.
enum CoreBenchmark {
    static let rowCounts = [100, 10_000, 100_000]

    static func main(arguments: ArraySlice<String>) -> Int32 {
        guard arguments.isEmpty else {
            print("usage: PatchsyncBench core")
            return 2
        }
        do {
            try run()
            return 0
        } catch {
            print("core benchmark failed: \(error)")
            return 1
        }
    }

    private static func run() throws {
        print("Todo document, one row changed; median time per operation, microseconds")
        print(padded("rows", 8) + padded("diff µs", 12) + padded("apply µs", 12) + padded("in place µs", 13)
            + padded("encode patch µs", 17) + padded("diff (full walk) µs", 20))
        for rows in rowCounts {
            let old = todoDocument(rows: rows)
            let new = completing(row: rows / 2, of: old)
            // The same change, but built without sharing: what diff costs with no shortcut.
            let unshared = try JSONCodec.decode(JSONCodec.encode(new))
            let patch = try JSONPatch.diff(from: old, to: new)
            guard patch.operations.count == 1, try patch.apply(to: old) == new else {
                throw BenchmarkError("unexpected patch \(try JSONCodec.encodeString(patch.jsonValue))")
            }
            let diff = try median { _ = try JSONPatch.diff(from: old, to: new) }
            let apply = try median { _ = try patch.apply(to: old) }
            // A document nobody else holds, as when replaying a log: edited where it is.
            var working = try patch.apply(to: old)
            let inPlace = try median { try patch.applyInPlace(to: &working) }
            let encode = try median { _ = try JSONCodec.encode(patch.jsonValue) }
            let fullWalk = try median { _ = try JSONPatch.diff(from: old, to: unshared) }
            print(padded("\(rows)", 8) + padded(formatted(diff, digits: 2), 12) + padded(formatted(apply, digits: 2), 12)
                + padded(formatted(inPlace, digits: 2), 13) + padded(formatted(encode, digits: 2), 17)
                + padded(formatted(fullWalk, digits: 2), 20))
        }
        // Other processes on a small box make single medians jumpy: the ratio takes the best
        // of five interleaved medians for each size.
        let small = todoDocument(rows: 100)
        let smallChanged = completing(row: 50, of: small)
        let large = todoDocument(rows: 10_000)
        let largeChanged = completing(row: 5_000, of: large)
        var bestSmall = Double.infinity
        var bestLarge = Double.infinity
        for _ in 0..<5 {
            bestSmall = min(bestSmall, try median { _ = try JSONPatch.diff(from: small, to: smallChanged) })
            bestLarge = min(bestLarge, try median { _ = try JSONPatch.diff(from: large, to: largeChanged) })
        }
        print("diff 10,000 rows / 100 rows: \(formatted(bestLarge / bestSmall, digits: 2))x (\(formatted(bestLarge, digits: 2)) µs / "
            + "\(formatted(bestSmall, digits: 2)) µs, best of 5 interleaved medians; target <= 2x)")
        print("")
        print("Whole Todo document (a Full message), microseconds")
        print(padded("rows", 8) + padded("bytes", 12) + padded("encode µs", 12) + padded("decode µs", 12))
        for rows in rowCounts {
            let document = todoDocument(rows: rows)
            let text = try JSONCodec.encode(document)
            let encode = try median { _ = try JSONCodec.encode(document) }
            let decode = try median { _ = try JSONCodec.decode(text) }
            print(padded("\(rows)", 8) + padded("\(text.count)", 12) + padded(formatted(encode, digits: 2), 12) + padded(formatted(decode, digits: 2), 12))
        }
    }

    /// `{"name": ..., "todos": {"1": {"name": ..., "completed": ...}, ...}}`
    static func todoDocument(rows: Int) -> JSONValue {
        var todos = JSONObject()
        for row in 1...rows {
            todos[String(row)] = ["name": .string("todo number \(row)"), "completed": .bool(row % 3 == 0)]
        }
        return ["name": "Groceries", "todos": .object(todos)]
    }

    /// `document` with row `row` marked completed, made by editing a copy.
    static func completing(row: Int, of document: JSONValue) -> JSONValue {
        guard case .object(var root) = document else { return document }
        root.modifyValue(forKey: "todos") { todos in
            guard case .object(var rows)? = todos else { return }
            todos = nil
            rows.modifyValue(forKey: String(row)) { member in
                guard case .object(var todo)? = member else { return }
                member = nil
                todo["completed"] = .bool(true)
                member = .object(todo)
            }
            todos = .object(rows)
        }
        return .object(root)
    }

    /// The median time of one run of `body` in microseconds. Each sample times a batch of runs
    /// lasting at least 50 µs, so that clock overhead and jitter do not swamp sub-microsecond
    /// operations; samples are taken for about 0.3 s.
    static func median(_ body: () throws -> Void) throws -> Double {
        var batch = 1
        while true {
            let before = monotonicSeconds()
            for _ in 0..<batch { try body() }
            if monotonicSeconds() - before >= 50e-6 || batch >= 1 << 20 { break }
            batch *= 2
        }
        var samples: [Double] = []
        let start = monotonicSeconds()
        while samples.count < 5 || (monotonicSeconds() - start < 0.3 && samples.count < 10_000) {
            let before = monotonicSeconds()
            for _ in 0..<batch { try body() }
            samples.append((monotonicSeconds() - before) * 1e6 / Double(batch))
        }
        samples.sort()
        return samples[samples.count / 2]
    }

}

