import SyncEngine

/// The file operations the event log needs. The file store never touches files any other way,
/// so tests can inject failures (a full disk, a read-only directory) by wrapping `PosixStorageIO`.
///
/// Every method is called from the file store's storage thread (or its compaction thread), never from
/// the Swift cooperative pool, so implementations may block.
public protocol StorageIO: Sendable {
    /// Creates one directory level; succeeds if it already exists.
    func createDirectory(_ path: String) throws(StorageError)
    /// Names of the entries in a directory, without `.` and `..`.
    func listDirectory(_ path: String) throws(StorageError) -> [String]
    /// The whole file, or nil when it does not exist.
    func readFile(_ path: String) throws(StorageError) -> [UInt8]?
    /// The file from byte `offset` on (empty past its end), or nil when it does not exist.
    func readFile(_ path: String, from offset: Int64) throws(StorageError) -> [UInt8]?
    /// Opens (creating if needed) a file for appending.
    func openForAppending(_ path: String) throws(StorageError) -> StorageFile
    /// The current length of an open file.
    func size(of file: StorageFile) throws(StorageError) -> Int64
    /// Writes all of `bytes` at the end of the file, or throws (some bytes may have been written).
    func append(_ bytes: [UInt8], to file: StorageFile) throws(StorageError)
    /// fsync.
    func synchronize(_ file: StorageFile) throws(StorageError)
    func truncate(_ file: StorageFile, toLength length: Int64) throws(StorageError)
    func close(_ file: StorageFile)
    /// Replaces a file atomically: write a temporary file, fsync it, rename it over `path`, fsync the directory.
    func replaceFile(_ path: String, with bytes: [UInt8]) throws(StorageError)
    /// Renames `path` over `newPath` atomically; durable once the directory is synchronized.
    func rename(_ path: String, to newPath: String) throws(StorageError)
    /// fsync on a directory, so created and renamed entries survive a power cut.
    func synchronizeDirectory(_ path: String) throws(StorageError)
}

extension StorageIO {
    public func readFile(_ path: String, from offset: Int64) throws(StorageError) -> [UInt8]? {
        try readFile(path).map { Array($0.dropFirst(Int(clamping: offset))) }
    }
}

/// An open file of a `StorageIO`.
public struct StorageFile: Sendable, Hashable {
    public let descriptor: Int32
    public let path: String

    public init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }
}
