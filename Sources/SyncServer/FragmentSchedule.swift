import DequeModule

/// Large WebSocket messages go out as fragments, and each service round writes only so many
/// fragments, the sessions with some waiting their turn in line. Without it, 300 sessions
/// joining a 10,000-row list made one round write 300 Fulls of 600 KB (about 100 ms of the
/// kernel's copy) before any other session's Ack; now a round spends about a millisecond on
/// bulk data, and every session's Acks and Patches go out between rounds.
///
/// Service thread only.
struct FragmentSchedule<Writer: FragmentWriter> {
    struct Configuration {
        /// A message over this many bytes goes out in fragments of this size.
        var fragmentBytes = 64 * 1024
        /// With permessage-deflate, a message over this many bytes is compressed once for every
        /// session (`PerMessageDeflate`) and goes out in fragments of `fragmentBytes`.
        var compressionBytes = 8 * 1024
        /// Fragments written per service round, across all sessions.
        var fragmentsPerRound = 16
    }

    let configuration: Configuration
    /// Fragments this round may still write beyond the turns it handed out.
    private var budget = 0
    /// Writers with a fragment to write, in the order they get their turn.
    private var waiting = Deque<Writer>()

    init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// A new service round: refills the budget and gives their turn to the writers first in
    /// line, which the caller asks lws to call back when their sockets can take more.
    mutating func beginRound() -> [Writer] {
        budget = configuration.fragmentsPerRound
        guard !waiting.isEmpty else { return [] }
        let granted = Array(waiting.prefix(budget))
        waiting.removeFirst(granted.count)
        for writer in granted { writer.turn = .granted }
        budget -= granted.count
        return granted
    }

    /// Whether `writer` may write a fragment now: its turn came, or the round has budget left.
    /// If not, it waits in line.
    mutating func mayWrite(_ writer: Writer) -> Bool {
        switch writer.turn {
        case .granted:
            writer.turn = .none
            return true
        case .waiting:
            return false
        case .none:
            if budget > 0 {
                budget -= 1
                return true
            }
            wait(writer)
            return false
        }
    }

    /// `writer` wrote a fragment and has more: it stays at the front of the line, so that
    /// messages finish in the order they started, and sooner, and few are half sent at once
    /// (which also keeps the memory they touch in the CPU's caches).
    mutating func continueMessage(_ writer: Writer) {
        guard writer.turn == .none else { return }
        writer.turn = .waiting
        waiting.prepend(writer)
    }

    private mutating func wait(_ writer: Writer) {
        writer.turn = .waiting
        waiting.append(writer)
    }

    /// Whether `writer` is called back without asking: it waits in line or its turn came (and
    /// once its message is out, it asks for what was queued meanwhile). A message queued for it
    /// need not ask for a write of its own: with 300 sessions in line for a Full, each change to
    /// the document would wake all 300 for nothing.
    func callsBack(_ writer: Writer) -> Bool {
        writer.turn != .none
    }

    /// The writer's connection closed: its place in line goes.
    mutating func remove(_ writer: Writer) {
        guard writer.turn == .waiting, let index = waiting.firstIndex(where: { $0 === writer }) else { return }
        waiting.remove(at: index)
        writer.turn = .none
    }
}

/// A connection that takes turns in a `FragmentSchedule`: it holds its place in line.
protocol FragmentWriter: AnyObject {
    var turn: FragmentTurn { get set }
}

/// A writer's place in a `FragmentSchedule`.
enum FragmentTurn {
    case none
    case waiting
    /// Its turn came: it writes its next fragment whatever the round's budget.
    case granted
}
