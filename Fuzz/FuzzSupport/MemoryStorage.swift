import FileStore
import Glibc
import Synchronization
import SyncEngine

/// Files held in memory: the engine's storage without disk writes or fsync, which would
/// otherwise bound a fuzzer to a few hundred inputs a second.
public final class MemoryStorage: StorageIO {
    private struct Files {
        var contents: [String: [UInt8]] = [:]
        var directories: Set<String> = []
        var open: [Int32: String] = [:]
        var nextDescriptor: Int32 = 3
    }

    private let files = Mutex(Files())

    public init(files contents: [String: [UInt8]] = [:]) {
        files.withLock { $0.contents = contents }
    }

    /// The file's bytes, or nil when it does not exist.
    public func contents(of path: String) -> [UInt8]? {
        files.withLock { $0.contents[path] }
    }

    public func createDirectory(_ path: String) throws(StorageError) {
        _ = files.withLock { $0.directories.insert(path) }
    }

    public func listDirectory(_ path: String) throws(StorageError) -> [String] {
        let prefix = path + "/"
        return files.withLock { files in
            let paths = files.directories.union(files.contents.keys)
            let names = paths.filter { $0.hasPrefix(prefix) }.map { $0.dropFirst(prefix.count).prefix { $0 != "/" } }
            return Set(names.map(String.init)).sorted()
        }
    }

    public func readFile(_ path: String) throws(StorageError) -> [UInt8]? {
        contents(of: path)
    }

    public func openForAppending(_ path: String) throws(StorageError) -> StorageFile {
        files.withLock { files in
            defer { files.nextDescriptor += 1 }
            files.open[files.nextDescriptor] = path
            if files.contents[path] == nil { files.contents[path] = [] }
            return StorageFile(descriptor: files.nextDescriptor, path: path)
        }
    }

    public func size(of file: StorageFile) throws(StorageError) -> Int64 {
        Int64(contents(of: file.path)?.count ?? 0)
    }

    public func append(_ bytes: [UInt8], to file: StorageFile) throws(StorageError) {
        files.withLock { $0.contents[file.path, default: []].append(contentsOf: bytes) }
    }

    public func synchronize(_ file: StorageFile) throws(StorageError) {}

    public func truncate(_ file: StorageFile, toLength length: Int64) throws(StorageError) {
        files.withLock { files in
            let bytes = files.contents[file.path] ?? []
            files.contents[file.path] = Array(bytes.prefix(Int(length)))
        }
    }

    public func close(_ file: StorageFile) {
        _ = files.withLock { $0.open.removeValue(forKey: file.descriptor) }
    }

    public func replaceFile(_ path: String, with bytes: [UInt8]) throws(StorageError) {
        files.withLock { $0.contents[path] = bytes }
    }

    public func rename(_ path: String, to newPath: String) throws(StorageError) {
        try files.withLock { (files) throws(StorageError) in
            guard let bytes = files.contents.removeValue(forKey: path) else {
                throw StorageError.system("rename", path: path, errno: ENOENT)
            }
            files.contents[newPath] = bytes
        }
    }

    public func synchronizeDirectory(_ path: String) throws(StorageError) {}
}
