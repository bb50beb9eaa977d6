import Glibc
import FileStore
import Logging
import SyncEngine

/// A benchmark that could not run, with the reason.
struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Warnings and errors only, on stderr: benchmark output stays a table.
func benchmarkLogger(_ name: String) -> Logger {
    var logger = Logger(label: "PatchsyncBench.\(name)", factory: { StreamLogHandler.standardError(label: $0) })
    logger.logLevel = .warning
    return logger
}

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// `value` with `digits` decimals (no Foundation formatting).
func formatted(_ value: Double, digits: Int = 1) -> String {
    var scale = 1
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((value * Double(scale)).rounded())
    guard digits > 0 else { return "\(scaled)" }
    let fraction = String(scaled % scale)
    return "\(scaled / scale)." + String(repeating: "0", count: digits - fraction.count) + fraction
}

/// `text` followed by spaces up to `width` columns (at least one).
func padded(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(1, width - text.count))
}

/// A fresh engine data directory under /tmp, removed by `remove()`.
struct TemporaryDataDirectory {
    let path: String

    init(prefix: String) throws(BenchmarkError) {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap(mkdtemp).map { String(cString: $0) }
        }
        guard let made else { throw BenchmarkError("cannot create a temporary directory in /tmp: errno \(errno)") }
        path = made
    }

    /// Removes document directories holding files, nothing deeper: the engine's layout.
    func remove() {
        let storage = PosixStorageIO()
        for entry in (try? storage.listDirectory(path)) ?? [] {
            let child = path + "/" + entry
            for file in (try? storage.listDirectory(child)) ?? [] { unlink(child + "/" + file) }
            if rmdir(child) != 0 { unlink(child) }
        }
        rmdir(path)
    }
}
