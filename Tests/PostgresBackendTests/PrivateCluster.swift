import Foundation

/// A private PostgreSQL cluster for one test: initdb into a temporary directory, a Unix socket
/// there, no TCP; as the postgres user when the tests run as root. Stopped and removed by `destroy`.
final class PrivateCluster {
    static let binaries = URL(fileURLWithPath: "/usr/lib/postgresql/15/bin")
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: binaries.appendingPathComponent("initdb").path) }

    let directory: URL
    let port: Int
    private var data: URL { directory.appendingPathComponent("data") }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("patchsync-swift-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = 55000 + Int(getpid() % 500) * 2 + Int.random(in: 0..<2)
        if getuid() == 0 {
            try run("/usr/bin/chown", "postgres:postgres", directory.path)
        }
        try run(Self.binaries.appendingPathComponent("initdb").path, "-D", data.path, "-A", "trust", "-U", "postgres", "--no-sync")
        try start()
    }

    var url: String { "postgresql:///postgres?host=\(directory.path)&port=\(port)&user=postgres" }

    func start() throws {
        try run(
            Self.binaries.appendingPathComponent("pg_ctl").path, "-D", data.path, "-o",
            "-k \(directory.path) -p \(port) -c listen_addresses='' -c fsync=off", "-l",
            directory.appendingPathComponent("log").path, "-w", "start")
    }

    func stop() throws {
        try run(Self.binaries.appendingPathComponent("pg_ctl").path, "-D", data.path, "-m", "fast", "-w", "stop")
    }

    /// `pg_ctl restart -m fast`: every connection is dropped.
    func restart() throws {
        try stop()
        try start()
    }

    /// Runs one statement with psql; its output.
    @discardableResult
    func sql(_ statement: String) throws -> String {
        try run("/usr/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", statement, asPostgres: false)
    }

    func destroy() {
        _ = try? run(Self.binaries.appendingPathComponent("pg_ctl").path, "-D", data.path, "-m", "immediate", "-w", "stop")
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs a command through the shell (`system`: Foundation's `Process` did not return from
    /// `waitUntilExit` here once pg_ctl had started a server), its output into a file.
    @discardableResult
    private func run(_ arguments: String..., asPostgres: Bool = true) throws -> String {
        var arguments = arguments
        if asPostgres, getuid() == 0, arguments[0] != "/usr/bin/chown" {
            arguments = ["/usr/sbin/runuser", "-u", "postgres", "--"] + arguments
        }
        let outputFile = directory.appendingPathComponent("run-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: outputFile) }
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let status = system(quoted.joined(separator: " ") + " </dev/null >'\(outputFile.path)' 2>&1")
        let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw ClusterError(description: "\(arguments.joined(separator: " ")) failed (\(status)): \(text)")
        }
        return text
    }
}

struct ClusterError: Error, CustomStringConvertible {
    let description: String
}
