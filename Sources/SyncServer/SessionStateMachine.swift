import DequeModule
import LibWebsocketsSupport
import SyncEngine
import SyncProtocol

/// The life of one WebSocket session, free of sockets and threads: what arrives, what is queued
/// for it, and how it closes. Every event returns what the transport must do next, so the whole
/// lifecycle is testable without libwebsockets.
///
/// There is one way to close: a close is requested (after the queue, or dropping it), the
/// transport is told once to start closing (`beginClose`), and the next write step is the
/// close frame.
struct SessionStateMachine {
    struct Configuration {
        var maximumMessageBytes: Int
        /// Bytes queued before the session counts as too slow (1013).
        var queueLimitBytes: Int
        /// Messages per second and burst; nil for no limit.
        var rate: (perSecond: Double, burst: Int)?
        /// Refusals in a row after which the session is closed with 1008.
        var refusalsBeforeClose: Int
        /// Send several queued Patches as one.
        var coalescesPatches: Bool
        /// Largest coalesced Patch; a single larger Patch still goes out alone.
        var coalescedBytesLimit = 64 * 1024
    }

    struct CloseFrame: Equatable, Sendable {
        let code: CloseCode
        let reason: String
    }

    enum State: Equatable {
        /// Messages flow both ways.
        case open
        /// Over the rate too often: input is dropped while the engine sends the last replies
        /// and then asks to close.
        case refusingInput
        /// Writes what is queued, then the close frame.
        case flushing(CloseFrame)
        /// The close frame is next; the queue is gone.
        case closing(CloseFrame)
        /// The close frame is written, or the connection is gone.
        case closed
    }

    /// After a message piece arrived.
    enum ReceiveAction: Equatable {
        case none
        /// A whole message for the engine.
        case deliver(IncomingMessage)
        /// A whole message the engine answers with an Error (and maybe a close) in order.
        case refuse(IncomingMessage, code: SyncErrorCode, message: String, thenClose: CloseFrame?)
        case beginClose(CloseFrame)
    }

    /// After the transport was woken for this session.
    enum WakeupAction: Equatable {
        case none
        /// Ask for a WRITEABLE callback.
        case requestWrite
        /// Ask for WRITEABLE and bound the time the peer gets; `droppedQueue` when it was too slow.
        case beginClose(CloseFrame, droppedQueue: Bool)
    }

    /// In a WRITEABLE callback.
    enum WriteAction {
        case none
        /// One frame: `first` alone, or with the Patches `following` it, sent as one Patch
        /// (`ServerMessage.coalesce`). Empty `following` allocates nothing: most writes are one message.
        case write(OutboundMessage, following: [OutboundMessage], more: Bool)
        /// Write this close frame and end the connection.
        case close(CloseFrame)
    }

    private(set) var state: State
    private let configuration: Configuration
    private var assembler: MessageAssembler
    private var rateLimiter: MessageRateLimiter?
    private var refusedInARow = 0
    private var queue = Deque<OutboundMessage>()
    private(set) var queuedBytes = 0
    /// A wakeup is pending: further sends need not wake the transport again.
    private var wakeupPending = false
    /// `beginClose` was returned: the transport knows.
    private var closeAnnounced = false

    init(configuration: Configuration) {
        self.configuration = configuration
        state = .open
        assembler = MessageAssembler(limit: configuration.maximumMessageBytes, keepsBinaryPayload: false)
        rateLimiter = configuration.rate.map { MessageRateLimiter(rate: $0.perSecond, burst: $0.burst) }
    }

    /// A session accepted only to be closed at once (over a connection limit).
    init(configuration: Configuration, refusedWith frame: CloseFrame) {
        self.init(configuration: configuration)
        state = .closing(frame)
    }

    // MARK: Engine side (any thread, under the session's lock)

    /// Queues a message; true when the transport must be woken.
    mutating func enqueue(_ message: OutboundMessage) -> Bool {
        switch state {
        case .open, .refusingInput: break
        case .flushing, .closing, .closed: return false
        }
        queue.append(message)
        queuedBytes += message.count
        if queuedBytes > configuration.queueLimitBytes {
            dropQueue()
            state = .closing(
                CloseFrame(
                    code: .tryAgainLater,
                    reason: "client too slow: more than \(configuration.queueLimitBytes) bytes queued"))
        }
        return takeWakeupSlot()
    }

    /// The engine closes the session after what it queued; true when the transport must be woken.
    mutating func closeAfterQueue(_ frame: CloseFrame) -> Bool {
        switch state {
        case .open, .refusingInput: state = .flushing(frame)
        case .flushing, .closing, .closed: return false
        }
        return takeWakeupSlot()
    }

    private mutating func takeWakeupSlot() -> Bool {
        guard !wakeupPending else { return false }
        wakeupPending = true
        return true
    }

    // MARK: Transport side (service thread)

    /// The transport was woken for this session.
    mutating func wakeup() -> WakeupAction {
        wakeupPending = false
        switch state {
        case .open, .refusingInput:
            return queue.isEmpty ? .none : .requestWrite
        case .flushing(let frame):
            return announceClose(frame, droppedQueue: false) ?? .requestWrite
        case .closing(let frame):
            return announceClose(frame, droppedQueue: frame.code == .tryAgainLater) ?? .requestWrite
        case .closed:
            return .none
        }
    }

    /// Closes after the queue on server shutdown; the action to take, if any.
    mutating func shutdown() -> WakeupAction {
        switch state {
        case .open, .refusingInput:
            state = .flushing(CloseFrame(code: .goingAway, reason: "server shutting down"))
            return wakeup()
        case .flushing, .closing, .closed:
            return .none
        }
    }

    /// Starts a session refused at admission: the close must begin now.
    mutating func start() -> WakeupAction {
        guard case .closing = state else { return .none }
        return wakeup()
    }

    private mutating func announceClose(_ frame: CloseFrame, droppedQueue: Bool) -> WakeupAction? {
        guard !closeAnnounced else { return nil }
        closeAnnounced = true
        return .beginClose(frame, droppedQueue: droppedQueue)
    }

    /// A piece of an incoming message.
    mutating func receive(_ piece: UnsafeRawBufferPointer, isBinary: Bool, isLast: Bool) -> ReceiveAction {
        let outcome = assembler.append(piece, isBinary: isBinary, isLast: isLast)
        guard case .open = state else { return .none }
        switch outcome {
        case .incomplete:
            return .none
        case .tooBig:
            dropQueue()
            let frame = CloseFrame(
                code: .messageTooBig, reason: "message larger than \(configuration.maximumMessageBytes) bytes")
            state = .closing(frame)
            closeAnnounced = true
            return .beginClose(frame)
        case .complete(let assembled):
            let message = IncomingMessage(assembled)
            guard var limiter = rateLimiter, let rate = configuration.rate else { return .deliver(message) }
            let admitted = limiter.admit()
            rateLimiter = limiter
            if admitted {
                refusedInARow = 0
                return .deliver(message)
            }
            refusedInARow += 1
            var close: CloseFrame?
            if refusedInARow >= configuration.refusalsBeforeClose {
                state = .refusingInput
                close = CloseFrame(code: .policyViolation, reason: "message rate limit exceeded")
            }
            return .refuse(
                message, code: .rateLimited,
                message: "more than \(rate.perSecond) messages per second; message ignored",
                thenClose: close)
        }
    }

    /// What to write in this WRITEABLE callback.
    mutating func writable() -> WriteAction {
        switch state {
        case .closed:
            return .none
        case .closing(let frame):
            state = .closed
            return .close(frame)
        case .open, .refusingInput, .flushing:
            break
        }
        guard let first = queue.popFirst() else {
            if case .flushing(let frame) = state {
                state = .closed
                return .close(frame)
            }
            return .none
        }
        queuedBytes -= first.count
        var following: [OutboundMessage] = []
        if configuration.coalescesPatches { takePatches(continuing: first, into: &following) }
        var more = !queue.isEmpty
        if case .flushing = state { more = true }
        return .write(first, following: following, more: more)
    }

    /// Moves the Patches that continue `first` out of the queue, looking past replies (they stay
    /// queued, in order, and so still follow the Patch holding their change) and stopping at
    /// anything else.
    private mutating func takePatches(continuing first: OutboundMessage, into following: inout [OutboundMessage]) {
        guard case .patch(_, var version, _) = first.kind else { return }
        var bytes = first.count
        var passedReplies: [OutboundMessage] = []
        while let next = queue.first {
            if next.kind == .reply {
                passedReplies.append(queue.removeFirst())
                continue
            }
            guard case .patch(let from, let nextVersion, _) = next.kind, from == version,
                bytes + next.count <= configuration.coalescedBytesLimit
            else { break }
            following.append(queue.removeFirst())
            queuedBytes -= next.count
            bytes += next.count
            version = nextVersion
        }
        queue.prepend(contentsOf: passedReplies)
    }

    /// The connection is gone: nothing more is queued or written.
    mutating func connectionClosed() {
        state = .closed
        dropQueue()
    }

    private mutating func dropQueue() {
        queue = []
        queuedBytes = 0
    }
}
