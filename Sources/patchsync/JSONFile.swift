import Glibc
import SystemSupport
import JSONCodec
import JSONPatch

/// A command's failure, printed by ArgumentParser as one line on stderr (exit status 1).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}

/// Reading JSON documents named on the command line.
enum JSONFile {
    static func load(_ path: String) throws(CommandFailure) -> JSONValue {
        let bytes = try readBytes(path)
        do {
            return try JSONCodec.decode(bytes)
        } catch {
            throw CommandFailure(description: "\(path): \(error)")
        }
    }

    static func readBytes(_ path: String) throws(CommandFailure) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(reading: path) }
        defer { close(descriptor) }
        return try readAll(descriptor, name: path)
    }

    static func readStandardInput() throws(CommandFailure) -> [UInt8] {
        try readAll(STDIN_FILENO, name: "standard input")
    }

    private static func readAll(_ descriptor: Int32, name path: String) throws(CommandFailure) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count: Int
            do {
                count = try SystemCall.retryingInterrupts("read") {
                    chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                }
            } catch {
                throw failure(reading: path)
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[..<count])
        }
    }

    /// Writes `value` as compact JSON and a newline to stdout.
    static func print(_ value: JSONValue) throws(CommandFailure) {
        do {
            Swift.print(try JSONCodec.encodeString(value))
        } catch {
            throw CommandFailure(description: "cannot write the result: \(error)")
        }
    }

    private static func failure(reading path: String) -> CommandFailure {
        CommandFailure(description: "cannot read \(path): \(String(cString: strerror(errno)))")
    }
}
