/// How instances sharing documents tell each other who is on them (`PresenceMessage`s), so that
/// presence spans instances. Without one (the file store), presence is that of this instance.
///
/// A bus owns its threads: no method blocks except `join`, which runs once at start-up.
public protocol PresenceBus: AnyObject, Sendable {
    /// How long an instance may stay silent before the others drop its sessions; each instance
    /// says `alive` every quarter of its own timeout, which it sends along.
    var timeout: Duration { get }

    /// Connects and returns this instance's number, unique among the instances on the bus while
    /// it runs: the high part of every session id this instance gives out (see `SessionIDs`).
    func join() throws(StorageError) -> UInt32

    /// Starts delivering: other instances' messages, and `tick` about every second so that
    /// silent instances expire without any message arriving.
    func start(onEvent: @escaping @Sendable (PresenceBusEvent) -> Void)

    /// Tells the other instances about a change of a local session's presence. Queues it and
    /// returns at once; the bus also keeps the latest roster, to answer roster requests.
    func publish(_ change: PresenceChange, on document: DocumentName)

    /// Asks an instance for its full roster (one heard from without it).
    func requestRoster(from instance: UInt32)

    /// Says this instance is gone (its sessions leave everywhere at once) and stops.
    func shutdown()

    /// Its connection state and counters, for `/metrics`. Cheap; called from any thread.
    var metrics: PresenceBusMetrics { get }
}

/// What `/metrics` shows of a presence bus.
public struct PresenceBusMetrics: Sendable, Hashable {
    /// Whether the bus is connected: while it is not, this instance hears no other one.
    public var up: Bool
    /// Presence messages sent to the other instances (each holds one or more notices).
    public var messagesSent: UInt64
    /// Presence messages received from the other instances.
    public var messagesReceived: UInt64

    public init(up: Bool = false, messagesSent: UInt64 = 0, messagesReceived: UInt64 = 0) {
        self.up = up
        self.messagesSent = messagesSent
        self.messagesReceived = messagesReceived
    }
}

/// What a presence bus delivers.
public enum PresenceBusEvent: Sendable {
    case received(PresenceMessage)
    case tick
}

/// Session ids unique across the instances of a bus, yet exact as JavaScript numbers (below
/// 2^53): the instance number (below 2^21) in the high bits, a per-instance counter in the low
/// 32. Without a bus the number is 0, so ids are 1, 2, 3, ... as they always were.
public struct SessionIDs: Sendable {
    /// Instance numbers are below this.
    public static let instanceLimit: UInt32 = 1 << 21

    private let base: UInt64

    init(instance: UInt32) {
        base = UInt64(instance % Self.instanceLimit) << 32
    }

    /// The id of the `counter`th session (from 1); the counter wraps after 2^32 - 1 sessions.
    func id(_ counter: UInt64) -> SessionID {
        SessionID(rawValue: base | (counter & 0xFFFF_FFFF))
    }
}
