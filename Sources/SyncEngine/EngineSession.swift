import Synchronization

/// The engine's side of one session: its transport and role. Closed the moment the transport calls
/// `disconnect`, so nothing is sent afterwards even if the document has not caught up yet.
final class EngineSession: Sendable {
    let output: any TransportSession
    let role: SessionRole
    /// The client's name for exactly-once actions, if it gave one.
    let client: ClientID?
    /// Who the session's token says it is (`sub`), recorded with its changes; nil without one.
    let author: String?
    /// Milliseconds since the Unix epoch when the session connected.
    let since = WallClock.milliseconds()
    private let isOpen = Atomic<Bool>(true)

    init(output: any TransportSession, role: SessionRole, client: ClientID?, author: String? = nil) {
        self.output = output
        self.role = role
        self.client = client
        self.author = author
    }

    /// Hands the message to the transport; false when the session is gone.
    func send(_ message: OutboundMessage) -> Bool {
        guard isOpen.load(ordering: .acquiring) else { return false }
        output.send(message)
        return true
    }

    func close() {
        isOpen.store(false, ordering: .releasing)
    }
}
