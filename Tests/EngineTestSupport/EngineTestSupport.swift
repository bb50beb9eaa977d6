import FileStore
import Foundation
import JSONCodec
import JSONPatch
import Logging
import Synchronization
import SyncEngine
import SyncProtocol
import Testing
import TodoModel

/// A transport stand-in: records every message a session receives, decoded.
public final class CollectingOutput: TransportSession {
    private let received = Mutex<[JSONValue]>([])
    private let closes = Mutex<[CloseCode]>([])
    private let bytes = Mutex(0)

    public init() {}

    public func send(_ message: OutboundMessage) {
        let value = (try? JSONCodec.decode(message.bytes)) ?? .string("<undecodable>")
        received.withLock { $0.append(value) }
        bytes.withLock { $0 += message.bytes.count }
    }

    public var byteCount: Int { bytes.withLock { $0 } }

    public func close(_ code: CloseCode, reason: String) {
        closes.withLock { $0.append(code) }
    }

    public var messages: [JSONValue] { received.withLock { $0 } }
    public var closeCodes: [CloseCode] { closes.withLock { $0 } }

    /// Messages received since the last call.
    public func drain() -> [JSONValue] {
        received.withLock { messages in
            defer { messages = [] }
            return messages
        }
    }
}

/// Storage that fails on demand like a full disk: half of the bytes land, then ENOSPC.
public final class FailingStorage: StorageIO {
    public let base = PosixStorageIO()
    public let failWrites = Atomic<Bool>(false)
    /// Fails only replacing the event log, as a crash between a compaction's snapshot and its swap.
    public let failLogReplacement = Atomic<Bool>(false)
    public let syncCount = Atomic<Int>(0)

    public init() {}

    public func createDirectory(_ path: String) throws(StorageError) { try base.createDirectory(path) }
    public func listDirectory(_ path: String) throws(StorageError) -> [String] { try base.listDirectory(path) }
    public func readFile(_ path: String) throws(StorageError) -> [UInt8]? { try base.readFile(path) }
    public func openForAppending(_ path: String) throws(StorageError) -> StorageFile { try base.openForAppending(path) }
    public func size(of file: StorageFile) throws(StorageError) -> Int64 { try base.size(of: file) }

    public func append(_ bytes: [UInt8], to file: StorageFile) throws(StorageError) {
        if failWrites.load(ordering: .relaxed) {
            try base.append(Array(bytes.prefix(bytes.count / 2)), to: file)
            throw StorageError.system("write", path: file.path, errno: ENOSPC)
        }
        try base.append(bytes, to: file)
    }

    public func synchronize(_ file: StorageFile) throws(StorageError) {
        syncCount.add(1, ordering: .relaxed)
        try base.synchronize(file)
    }

    public func truncate(_ file: StorageFile, toLength length: Int64) throws(StorageError) {
        try base.truncate(file, toLength: length)
    }

    public func close(_ file: StorageFile) { base.close(file) }

    public func replaceFile(_ path: String, with bytes: [UInt8]) throws(StorageError) {
        if failWrites.load(ordering: .relaxed) { throw StorageError.system("write", path: path, errno: ENOSPC) }
        try base.replaceFile(path, with: bytes)
    }

    /// A compaction's swap renames the compacted log over the log.
    public func rename(_ path: String, to newPath: String) throws(StorageError) {
        if failLogReplacement.load(ordering: .relaxed) && newPath.hasSuffix("/log.jsonl") {
            throw StorageError.system("rename", path: path, errno: EIO)
        }
        try base.rename(path, to: newPath)
    }

    public func synchronizeDirectory(_ path: String) throws(StorageError) { try base.synchronizeDirectory(path) }
}

/// A fresh data directory under /tmp, removed when the test is done.
public final class TemporaryDirectory {
    public let path: String

    public init() {
        path = NSTemporaryDirectory() + "patchsync-engine-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    public func file(_ relative: String) -> String { path + "/" + relative }

    public func read(_ relative: String) -> String? {
        FileManager.default.contents(atPath: file(relative)).map { String(decoding: $0, as: UTF8.self) }
    }

    public func write(_ relative: String, _ text: String) throws {
        let url = URL(fileURLWithPath: file(relative))
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
}

/// A log handler that keeps warnings so tests can check them. A value, as swift-log expects:
/// each copy of a `Logger` (every document's, with its own metadata) has its own.
public struct RecordingLogHandler: LogHandler {
    public static let records = Mutex<[String]>([])
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .debug

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let text = "\(event.level) \(event.message) \(event.metadata ?? [:])"
        Self.records.withLock { $0.append(text) }
    }
}

public let testLogger: Logger = {
    var logger = Logger(label: "patchsync.engine.tests", factory: { _ in RecordingLogHandler() })
    logger.logLevel = .debug
    return logger
}()

public typealias TodoEngine = SyncEngine<TodoList>

public func makeEngine(
    _ directory: TemporaryDirectory, retainedEvents: Int = 1000, snapshotInterval: Int = 1000,
    storage: any StorageIO = PosixStorageIO()
) async throws -> TodoEngine {
    try await TodoEngine(
        configuration: .init(
            store: fileStore(directory, retainedEvents: retainedEvents, snapshotInterval: snapshotInterval, storage: storage),
            retainedEvents: retainedEvents),
        logger: testLogger)
}

/// The file store on `directory` (a new one for each engine: a store is not used after its engine shuts down).
public func fileStore(
    _ directory: TemporaryDirectory, retainedEvents: Int = 1000, snapshotInterval: Int = 1000,
    storage: any StorageIO = PosixStorageIO(), readOnly: Bool = false
) -> FileDocumentStore {
    FileDocumentStore(
        configuration: .init(
            dataDirectory: directory.path, retainedEvents: retainedEvents, snapshotInterval: snapshotInterval,
            storage: storage, readOnly: readOnly),
        logger: testLogger)
}

extension SessionEngine {
    public func send(_ text: String, from session: SessionID) {
        receive(.text(Array(text.utf8)), from: session)
    }
}

extension TodoEngine {
    /// Waits until everything queued for the document so far has been handled and its replies sent:
    /// the document handles work in order, so a read completes only after all earlier work.
    public func settle(_ name: DocumentName = .default) async throws {
        _ = try await state(of: name)
    }
}

public func json(_ text: String) throws -> JSONValue {
    try JSONCodec.decode(text)
}

/// Follows Full and Patch messages like a client does, reading them as `SyncProtocol` messages:
/// a message the protocol cannot read fails the test.
public struct Mirror {
    public var state: JSONValue = .null
    public var version: UInt64 = 0

    public init() {}

    public mutating func apply(_ messages: [JSONValue]) throws {
        for message in messages {
            switch try ServerMessage(json: message, stateKey: "todo") {
            case .full(let full):
                state = full.state
                version = try #require(full.version)
            case .patch(let patch):
                let next = try #require(patch.version)
                #expect(next == version + 1, "patches arrive without gaps or duplicates")
                #expect(patch.from == version, "a Patch says which version it applies to")
                state = try patch.ops.apply(to: state)
                version = next
            default:
                break
            }
        }
    }
}

public func types(_ messages: [JSONValue]) -> [String] {
    messages.map { $0["type"]?.stringValue ?? "?" }
}
