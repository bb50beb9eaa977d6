import Glibc

/// A failure reading or writing the data directory, naming the file (and line, for corrupt logs).
public struct StorageError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A system call failed; `errno` says why (ENOSPC, EROFS, EIO, ...).
        case io(errno: Int32)
        /// A file's content is not what the engine wrote: start-up must stop.
        case corrupt
        /// A file was written by a newer release in a format this binary does not know: start-up must stop.
        case newerFormat
        /// A database could not be reached or refused a statement; `path` names the schema.
        case database
        /// An import found the document already stored (`path` names it); nothing was changed.
        case alreadyExists
    }

    public let kind: Kind
    public let path: String
    /// 1-based line of a corrupt log, when the problem is in one line.
    public let line: Int?
    public let message: String

    public init(kind: Kind, path: String, line: Int? = nil, message: String) {
        self.kind = kind
        self.path = path
        self.line = line
        self.message = message
    }

    /// An error for the failed system call `operation`, from the current `errno`.
    public static func system(_ operation: String, path: String, errno code: Int32 = errno) -> StorageError {
        StorageError(
            kind: .io(errno: code), path: path,
            message: "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))")
    }

    public static func corrupt(_ path: String, line: Int? = nil, _ message: String) -> StorageError {
        StorageError(kind: .corrupt, path: path, line: line, message: message)
    }

    /// How the engine reports this error: files it cannot read stop start-up like damage does.
    var engineErrorKind: SyncEngineError.Kind {
        switch kind {
        case .io, .database: .storageUnavailable
        case .corrupt, .newerFormat, .alreadyExists: .corruptData
        }
    }

    public var description: String {
        if let line { return "\(path):\(line): \(message)" }
        return "\(path): \(message)"
    }
}
