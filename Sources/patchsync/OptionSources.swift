import ArgumentParser
import Glibc
import Synchronization

/// Option values for those not given on the command line: first `PATCHSYNC_<NAME>` environment
/// variables, then a config file of `option = value` lines.
///
/// Names are spelled as environment suffixes (`MAX_CONNECTIONS`); the file spells them as the
/// long option (`max-connections`).
final class OptionSources: Sendable {
    private let fileValues: [String: [FileValue]]
    private let configPath: String?
    /// Names asked for so far, so that a misspelt key in the file is reported instead of ignored.
    private let consulted = Mutex<Set<String>>([])
    /// Settings of the environment or the file that the command line overrode, in the order read.
    private let overridden = Mutex<[String]>([])

    struct FileValue {
        let text: String
        let line: Int
    }

    init(configFile path: String?) throws {
        configPath = path
        fileValues = try path.map(Self.readConfigFile) ?? [:]
    }

    static func environmentValue(_ name: String) -> String? {
        getenv("PATCHSYNC_" + name).map { String(cString: $0) }
    }

    func optionalValue(_ given: String?, _ name: String) throws -> String? {
        consult(name)
        if given != nil { noteOverride(name) }
        return given ?? raw(name)
    }

    func value<T: LosslessStringConvertible>(_ given: T?, _ name: String, default fallback: T) throws -> T {
        consult(name)
        if let given {
            noteOverride(name)
            return given
        }
        guard let text = raw(name) else { return fallback }
        guard let parsed = T(text) else {
            throw ValidationError("\(source(of: name)): cannot read '\(text)' as \(T.self)")
        }
        return parsed
    }

    /// Repeatable options: the command line's values, else a comma-separated variable, else every line of the file.
    func list(_ given: [String], _ name: String) -> [String] {
        consult(name)
        if !given.isEmpty {
            noteOverride(name)
            return given
        }
        let texts = Self.environmentValue(name).map { [$0] } ?? fileValues[name]?.map(\.text) ?? []
        return texts.flatMap { $0.split(separator: ",") }.map { String($0).trimmed() }.filter { !$0.isEmpty }
    }

    func flag(_ name: String) -> Bool {
        guard let text = raw(name)?.lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(text)
    }

    /// One line per setting of the environment or the config file that the command line
    /// overrode, naming where each was set (never its value: it may be a token). An operator who
    /// edits /etc/default/patchsync and sees no effect learns why.
    var overrides: [String] {
        overridden.withLock { $0 }
    }

    private func noteOverride(_ name: String) {
        let option = "--" + Self.fileSpelling(name)
        var sources: [String] = []
        if Self.environmentValue(name) != nil { sources.append("PATCHSYNC_\(name)") }
        if let configPath, let line = fileValues[name]?.last?.line { sources.append("\(configPath):\(line)") }
        guard !sources.isEmpty else { return }
        let message = "\(option) on the command line overrides \(sources.joined(separator: " and "))"
        overridden.withLock { if !$0.contains(message) { $0.append(message) } }
    }

    /// Fails on a key in the config file that no option asked for.
    func rejectUnknownFileOptions() throws {
        let known = consulted.withLock { $0 }
        let unknown = fileValues.filter { !known.contains($0.key) }.flatMap { name, values in values.map { (name, $0.line) } }
        if let (name, line) = unknown.min(by: { $0.1 < $1.1 }), let configPath {
            throw ValidationError("\(configPath):\(line): unknown option '\(Self.fileSpelling(name))'")
        }
    }

    private func raw(_ name: String) -> String? {
        consult(name)
        return Self.environmentValue(name) ?? fileValues[name]?.last?.text
    }

    private func consult(_ name: String) {
        _ = consulted.withLock { $0.insert(name) }
    }

    private func source(of name: String) -> String {
        if Self.environmentValue(name) != nil { return "PATCHSYNC_\(name)" }
        if let configPath, let line = fileValues[name]?.last?.line { return "\(configPath):\(line)" }
        return name
    }

    private static func fileSpelling(_ name: String) -> String {
        String(name.lowercased().map { $0 == "_" ? "-" : $0 })
    }

    private static func readConfigFile(_ path: String) throws -> [String: [FileValue]] {
        guard let file = fopen(path, "r") else {
            throw ValidationError("--config: cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var values: [String: [FileValue]] = [:]
        var lineNumber = 0
        var buffer: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(buffer) }
        while getline(&buffer, &capacity, file) >= 0, let buffer {
            lineNumber += 1
            var line = String(cString: buffer)
            if let hash = line.firstIndex(of: "#") { line = String(line[..<hash]) }
            line = line.trimmed()
            if line.isEmpty { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ValidationError("\(path):\(lineNumber): expected `option = value`")
            }
            let key = String(line[..<equals]).trimmed()
            let text = String(line[line.index(after: equals)...]).trimmed()
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw ValidationError("\(path):\(lineNumber): '\(key)' is not an option name")
            }
            let name = String(key.uppercased().map { $0 == "-" ? "_" : $0 })
            values[name, default: []].append(FileValue(text: text, line: lineNumber))
        }
        return values
    }
}

extension String {
    fileprivate func trimmed() -> String {
        var view = Substring(self)
        while view.first?.isWhitespace == true { view.removeFirst() }
        while view.last?.isWhitespace == true { view.removeLast() }
        return String(view)
    }
}
