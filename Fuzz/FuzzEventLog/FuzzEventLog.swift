@testable import FileStore
import FuzzSupport
import JSONCodec
import JSONPatch
import Logging
@testable import SyncEngine
import TodoModel

let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
let files = DocumentFiles(dataDirectory: "/fuzz", name: .default)
let initialState = TodoList.jsonValue(of: TodoList.initialState)

/// The initial state of each schema the Todo list has had (only its current one).
func initialState(schema: Int) -> JSONValue? {
    schema == TodoList.schemaVersion ? initialState : nil
}

/// Any bytes as a document's `log.jsonl`, read as at start-up: never a crash, only a
/// `corrupt` error naming the file; a log that loads (its torn last line cut off) loads again
/// to the same document, and each event reads back from its own JSON.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let storage = MemoryStorage(files: [files.logPath: Array(UnsafeBufferPointer(start: data, count: size))])
    let loaded: LoadedDocument
    do throws(StorageError) {
        loaded = try files.load(
            schemas: StoreSchemas(current: TodoList.schemaVersion, initialState: initialState(schema:)), io: storage,
            repairTornTail: true, logger: logger)
    } catch {
        // A log from a newer release (a higher format or schema) is refused as clearly as damage.
        expect(
            (error.kind == .corrupt || error.kind == .newerFormat) && error.path == files.logPath && error.line != nil,
            "unexpected \(error)")
        return 0
    }
    let repaired = storage.contents(of: files.logPath) ?? []
    expect(repaired.isEmpty || repaired.last == 0x0A, "the repaired log ends in a torn line")
    do {
        let again = try files.load(
            schemas: StoreSchemas(current: TodoList.schemaVersion, initialState: initialState(schema:)), io: storage,
            repairTornTail: false, logger: logger)
        expect(again.history.latestVersion == loaded.history.latestVersion, "the repaired log has other versions")
        expect(try! JSONCodec.encode(again.state) == JSONCodec.encode(loaded.state), "the repaired log gives another state")
    } catch {
        fatalError("the repaired log does not load: \(error)")
    }
    for event in loaded.history.events {
        expect((try? DocumentEvent(json: event.jsonValue)) == event, "event \(event.version) does not read back")
    }
    return 0
}
