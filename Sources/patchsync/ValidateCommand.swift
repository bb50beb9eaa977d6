import ArgumentParser
import Glibc
import JSONCodec
import JSONPatch
import JSONSchema

/// `patchsync validate SCHEMA.json INSTANCE.json`: checks a document against a JSON Schema
/// (draft 2020-12) as the server would. Exit status 0 valid, 1 invalid, 2 bad schema or usage.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a JSON document against a JSON Schema (draft 2020-12).",
        discussion: """
            Prints every failure as `POINTER: reason (keyword)`; the root's pointer is empty. Exit status: \
            0 valid, 1 invalid, 2 for a schema that does not compile, an unreadable file or bad usage.
            """
    )

    @Argument(help: "The JSON Schema file.")
    var schema: String

    @Argument(help: "The JSON document to check; - reads standard input.")
    var instance: String

    @Flag(help: "Read INSTANCE as JSON lines, one document per line; print one JSON result per line.")
    var lines = false

    @Flag(help: "Skip keywords the validator does not know instead of refusing the schema (for third-party schemas such as the JSON-Schema-Test-Suite's; never for declared types).")
    var ignoreUnknownKeywords = false

    /// ArgumentParser's own exit status for a usage error is 64; this command promises 2.
    static func mainWithStatus(_ arguments: [String]) -> Never {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            Glibc.exit(0)
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if !message.isEmpty {
                if code == .success {
                    print(message)
                } else {
                    printError("validate", message)
                }
            }
            Glibc.exit(code == .success ? 0 : code == .validationFailure ? 2 : code.rawValue)
        }
    }

    func run() throws {
        let compiled: JSONSchema
        do {
            compiled = try JSONSchema(
                compiling: try JSONFile.load(schema),
                options: JSONSchema.Options(ignoresUnknownKeywords: ignoreUnknownKeywords))
        } catch let error as SchemaCompileError {
            printError("validate", "\(schema): \(error)")
            throw ExitCode(2)
        } catch {
            printError("validate", "\(error)")
            throw ExitCode(2)
        }
        let bytes: [UInt8]
        do {
            bytes = instance == "-" ? try JSONFile.readStandardInput() : try JSONFile.readBytes(instance)
        } catch {
            printError("validate", "\(error)")
            throw ExitCode(2)
        }
        let name = instance == "-" ? "standard input" : instance
        var allValid = true
        if lines {
            var number = 0
            for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                number += 1
                if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) {
                    continue
                }
                let document = try Self.decode(Array(line), name: "\(name) line \(number)")
                let failures = compiled.validate(document)
                allValid = allValid && failures.isEmpty
                let result: JSONValue = [
                    "line": .integer(Int64(number)),
                    "valid": .bool(failures.isEmpty),
                    "errors": .array(failures.map { .string($0.description) }),
                ]
                try JSONFile.print(result)
            }
        } else {
            let failures = compiled.validate(try Self.decode(bytes, name: name))
            for failure in failures { print(failure) }
            allValid = failures.isEmpty
        }
        if !allValid { throw ExitCode(1) }
    }

    private static func decode(_ bytes: [UInt8], name: String) throws -> JSONValue {
        do {
            return try JSONCodec.decode(bytes)
        } catch {
            printError("validate", "\(name): \(error)")
            throw ExitCode(2)
        }
    }

}
