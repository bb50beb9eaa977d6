import Synchronization

/// The engine's handle on one session's output. Closed the moment the transport calls
/// `disconnect`, so nothing is sent afterwards even if the document has not caught up yet.
final class SessionLink: Sendable {
    let output: any SessionOutput
    let role: SessionRole
    private let isOpen = Atomic<Bool>(true)

    init(output: any SessionOutput, role: SessionRole) {
        self.output = output
        self.role = role
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
