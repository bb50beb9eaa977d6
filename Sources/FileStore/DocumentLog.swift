import Synchronization
import SyncEngine

/// Appends events to one document's log file and swaps in its compacted form. Used only from the
/// storage thread.
///
/// A failed append is cut off again (truncate to the last good length), so a full disk never
/// leaves half a line behind; if even that fails, the next append retries the truncation first.
final class DocumentLog: Sendable {
    private struct OpenState {
        var file: StorageFile?
        /// Length of the log holding only whole, synced events.
        var committedLength: Int64 = 0
        var needsTruncation = false
        /// Events in the log file (after the snapshot), for the retention policy.
        var eventsInLog = 0
        var isCompacting = false
        var compactedBase: UInt64?
    }

    let files: DocumentFiles
    private let dataDirectory: String
    private let io: any StorageIO
    private let state = Mutex(OpenState())

    init(files: DocumentFiles, dataDirectory: String, io: any StorageIO) {
        self.files = files
        self.dataDirectory = dataDirectory
        self.io = io
    }

    var eventsInLog: Int { state.withLock { $0.eventsInLog } }

    /// Sets the count of events in the log as found by loading it.
    func setEventsInLog(_ count: Int) {
        state.withLock { $0.eventsInLog = count }
    }

    /// Writes `bytes` (`events` whole lines) and fsyncs; returns how long write and fsync took.
    /// On return the events are durable; on throw, none of them are.
    func append(_ bytes: [UInt8], events: Int) throws(StorageError) -> Duration {
        try state.withLock { (state: inout OpenState) throws(StorageError) -> Duration in
            let file = try openFile(&state)
            if state.needsTruncation {
                try io.truncate(file, toLength: state.committedLength)
                state.needsTruncation = false
            }
            let start = ContinuousClock.now
            do throws(StorageError) {
                try io.append(bytes, to: file)
                try io.synchronize(file)
            } catch {
                do {
                    try io.truncate(file, toLength: state.committedLength)
                } catch {
                    state.needsTruncation = true
                }
                throw error
            }
            state.committedLength += Int64(bytes.count)
            state.eventsInLog += events
            return ContinuousClock.now - start
        }
    }

    /// Where the log stood when a compaction began: the compactor folds the events of the first
    /// `length` bytes into a snapshot while appends go on after them.
    struct CompactionStart: Sendable {
        var length: Int64
        var events: Int
    }

    /// Starts a compaction when the log holds at least `threshold` events and none is running.
    func beginCompaction(threshold: Int) -> CompactionStart? {
        state.withLock { state in
            guard !state.isCompacting, !state.needsTruncation, state.file != nil,
                state.eventsInLog >= threshold
            else { return nil }
            state.isCompacting = true
            return CompactionStart(length: state.committedLength, events: state.eventsInLog)
        }
    }

    /// The compacted log, written and synced on the compaction thread, waiting for its swap.
    struct CompactedLog: Sendable {
        var file: StorageFile
        var length: Int64
    }

    /// On the compaction thread: writes `retainedLog` (the log's events after the new snapshot)
    /// to the compacted log's file and syncs it, so that the swap copies only what was appended
    /// since instead of rewriting the whole log while commits wait for the storage thread.
    func writeCompactedLog(_ retainedLog: [UInt8]) throws(StorageError) -> CompactedLog {
        let file = try io.openForAppending(files.compactedLogPath)
        do throws(StorageError) {
            // A crash may have left one behind.
            try io.truncate(file, toLength: 0)
            try io.append(retainedLog, to: file)
            try io.synchronize(file)
        } catch {
            io.close(file)
            throw error
        }
        return CompactedLog(file: file, length: Int64(retainedLog.count))
    }

    /// Ends a compaction whose snapshot (at version `base`) is already written: the compacted log
    /// (its events after `base`, `retainedEvents` lines, taken from the first `start.length`
    /// bytes) gets what was appended since, and replaces the log; appends go on in its file. A
    /// crash before the rename leaves the new snapshot beside the old log, which loading handles
    /// by skipping the events it holds.
    func finishCompaction(
        from start: CompactionStart, compacted: CompactedLog, retainedEvents: Int, base: UInt64
    ) throws(StorageError) {
        try state.withLock { (state: inout OpenState) throws(StorageError) in
            state.isCompacting = false
            var renamed = false
            defer { if !renamed { io.close(compacted.file) } }
            guard !state.needsTruncation, state.committedLength >= start.length else { return }
            let appendedLength = Int(state.committedLength - start.length)
            if appendedLength > 0 {
                let appended = try io.readFile(files.logPath, from: start.length) ?? []
                guard appended.count >= appendedLength else {
                    throw StorageError.corrupt(files.logPath, "shorter than its committed length while compacting")
                }
                try io.append(Array(appended.prefix(appendedLength)), to: compacted.file)
                try io.synchronize(compacted.file)
            }
            try io.rename(files.compactedLogPath, to: files.logPath)
            renamed = true
            // The old file is gone from the directory: appends go to the new one from here on
            // (a log closed meanwhile stays closed).
            if let file = state.file {
                io.close(file)
                // Under its new name, which errors name from now on.
                state.file = StorageFile(descriptor: compacted.file.descriptor, path: files.logPath)
            } else {
                io.close(compacted.file)
            }
            state.committedLength = compacted.length + Int64(appendedLength)
            state.eventsInLog = retainedEvents + state.eventsInLog - start.events
            state.compactedBase = base
            try io.synchronizeDirectory(files.directory)
        }
    }

    /// Gives up a compaction that could not build its snapshot or swap its log.
    func abandonCompaction() {
        state.withLock { $0.isCompacting = false }
    }

    /// The snapshot version of the last finished compaction, once.
    func takeCompactedBase() -> UInt64? {
        state.withLock { state in
            defer { state.compactedBase = nil }
            return state.compactedBase
        }
    }

    /// Writes the snapshot of version 0 of a document whose log is still empty, so that the log
    /// does not depend on the initial state of its schema being known later (a declared type
    /// keeps only its current `default`).
    func writeBaseSnapshot(_ snapshot: [UInt8]) throws(StorageError) {
        try state.withLock { (state: inout OpenState) throws(StorageError) in
            _ = try openFile(&state)
            guard state.committedLength == 0 else { return }
            try io.replaceFile(files.snapshotPath, with: snapshot)
        }
    }

    func close() {
        state.withLock { state in
            if let file = state.file { io.close(file) }
            state.file = nil
        }
    }

    /// Opens the log on first use, creating the document's directory durably.
    private func openFile(_ state: inout OpenState) throws(StorageError) -> StorageFile {
        if let file = state.file { return file }
        try io.createDirectory(files.directory)
        try io.synchronizeDirectory(dataDirectory)
        let file = try io.openForAppending(files.logPath)
        do throws(StorageError) {
            try io.synchronizeDirectory(files.directory)
            state.committedLength = try io.size(of: file)
        } catch {
            io.close(file)
            throw error
        }
        state.file = file
        state.needsTruncation = false
        return file
    }
}
