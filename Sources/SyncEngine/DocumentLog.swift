import Synchronization

/// Appends events to one document's log file and compacts it. Used only from the storage thread.
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

    /// Writes the snapshot, then replaces the log with `remainingLog` (the events after the snapshot).
    /// A crash in between leaves a newer snapshot beside the old log, which loading handles by
    /// skipping the events the snapshot already holds.
    func compact(snapshot: [UInt8], remainingLog: [UInt8], eventsInLog: Int) throws(StorageError) {
        try state.withLock { (state: inout OpenState) throws(StorageError) in
            _ = try openFile(&state)
            try io.replaceFile(files.snapshotPath, with: snapshot)
            try io.replaceFile(files.logPath, with: remainingLog)
            if let file = state.file { io.close(file) }
            state.file = nil
            state.eventsInLog = eventsInLog
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
