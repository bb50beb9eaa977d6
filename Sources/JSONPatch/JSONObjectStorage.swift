import OrderedCollections
import Synchronization

/// Serials are never reused, so a stale link to a parent storage can only fail to match.
private let nextStorageSerial = Atomic<UInt64>(0)

/// The shared, copy-on-write members of a `JSONObject`, with the lineage that lets
/// `JSONPatch.diff` skip members that cannot have changed.
///
/// Every state of a storage has its own serial: a fresh one when it is created and after every
/// in-place mutation. A storage copied from a shared one remembers the parent's serial and the
/// keys written since; while that serial is still the parent's current one, every other member
/// is the very value the parent holds.
final class JSONObjectStorage: @unchecked Sendable {
    // @unchecked: mutated only through `JSONObject`, which first makes the storage unique.
    var members: OrderedDictionary<String, JSONValue>
    private(set) var serial: UInt64
    private(set) var parentSerial: UInt64?
    private(set) var touchedKeys: OrderedSet<String>

    init(members: OrderedDictionary<String, JSONValue>) {
        self.members = members
        self.serial = JSONObjectStorage.makeSerial()
        self.parentSerial = nil
        self.touchedKeys = []
    }

    private init(copying parent: JSONObjectStorage) {
        members = parent.members
        serial = JSONObjectStorage.makeSerial()
        parentSerial = parent.serial
        touchedKeys = []
    }

    func copyForMutation() -> JSONObjectStorage {
        JSONObjectStorage(copying: self)
    }

    /// Called before each in-place write of `key`.
    func willWrite(key: String) {
        serial = JSONObjectStorage.makeSerial()
        guard parentSerial != nil else { return }
        touchedKeys.append(key)
        // Once most members were written, the lineage saves nothing: drop it, which also keeps
        // a long-edited copy from remembering an unbounded number of removed keys.
        if touchedKeys.count > members.count + 8 {
            parentSerial = nil
            touchedKeys = []
        }
    }

    /// The keys that may differ from `ancestor`, or nil when that is unknown.
    func keysChanged(since ancestor: JSONObjectStorage) -> OrderedSet<String>? {
        guard let parentSerial, parentSerial == ancestor.serial else { return nil }
        return touchedKeys
    }

    private static func makeSerial() -> UInt64 {
        nextStorageSerial.wrappingAdd(1, ordering: .relaxed).newValue
    }
}
