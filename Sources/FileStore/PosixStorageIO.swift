import Glibc
import SyncEngine
import SystemSupport

/// `StorageIO` on the local file system through POSIX calls.
public struct PosixStorageIO: StorageIO {
    public init() {}

    public func createDirectory(_ path: String) throws(StorageError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw StorageError.system("mkdir", path: path)
        }
    }

    public func listDirectory(_ path: String) throws(StorageError) -> [String] {
        guard let directory = opendir(path) else { throw StorageError.system("opendir", path: path) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func readFile(_ path: String) throws(StorageError) -> [UInt8]? {
        try readFile(path, from: 0)
    }

    public func readFile(_ path: String, from offset: Int64) throws(StorageError) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw StorageError.system("open", path: path)
        }
        defer { Glibc.close(descriptor) }
        if offset > 0 && lseek(descriptor, off_t(offset), SEEK_SET) < 0 {
            throw StorageError.system("lseek", path: path)
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try retrying("read", path: path) {
                chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    public func openForAppending(_ path: String) throws(StorageError) -> StorageFile {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw StorageError.system("open", path: path) }
        return StorageFile(descriptor: descriptor, path: path)
    }

    public func size(of file: StorageFile) throws(StorageError) -> Int64 {
        var status = stat()
        guard fstat(file.descriptor, &status) == 0 else { throw StorageError.system("fstat", path: file.path) }
        return Int64(status.st_size)
    }

    public func append(_ bytes: [UInt8], to file: StorageFile) throws(StorageError) {
        try writeAll(bytes, descriptor: file.descriptor, path: file.path)
    }

    public func synchronize(_ file: StorageFile) throws(StorageError) {
        guard fsync(file.descriptor) == 0 else { throw StorageError.system("fsync", path: file.path) }
    }

    public func truncate(_ file: StorageFile, toLength length: Int64) throws(StorageError) {
        guard ftruncate(file.descriptor, off_t(length)) == 0 else {
            throw StorageError.system("ftruncate", path: file.path)
        }
    }

    public func close(_ file: StorageFile) {
        _ = Glibc.close(file.descriptor)
    }

    public func replaceFile(_ path: String, with bytes: [UInt8]) throws(StorageError) {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw StorageError.system("open", path: temporary) }
        do throws(StorageError) {
            try writeAll(bytes, descriptor: descriptor, path: temporary)
            guard fsync(descriptor) == 0 else { throw StorageError.system("fsync", path: temporary) }
        } catch {
            Glibc.close(descriptor)
            unlink(temporary)
            throw error
        }
        Glibc.close(descriptor)
        guard Glibc.rename(temporary, path) == 0 else {
            let error = StorageError.system("rename", path: temporary)
            unlink(temporary)
            throw error
        }
        try synchronizeDirectory(Self.directory(of: path))
    }

    public func rename(_ path: String, to newPath: String) throws(StorageError) {
        guard Glibc.rename(path, newPath) == 0 else { throw StorageError.system("rename", path: path) }
    }

    public func synchronizeDirectory(_ path: String) throws(StorageError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw StorageError.system("open", path: path) }
        defer { Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw StorageError.system("fsync", path: path) }
    }

    private func writeAll(_ bytes: [UInt8], descriptor: Int32, path: String) throws(StorageError) {
        var offset = 0
        while offset < bytes.count {
            offset += try retrying("write", path: path) {
                bytes.withUnsafeBytes { buffer in write(descriptor, buffer.baseAddress! + offset, buffer.count - offset) }
            }
        }
    }

    /// `SystemCall.retryingInterrupts`, its failure told as a `StorageError` naming `path`.
    private func retrying(_ call: String, path: String, _ body: () -> Int) throws(StorageError) -> Int {
        do {
            return try SystemCall.retryingInterrupts(call, body)
        } catch {
            throw StorageError.system(call, path: path, errno: error.errno)
        }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
