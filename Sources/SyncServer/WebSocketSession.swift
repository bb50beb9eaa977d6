import SyncEngine

/// One WebSocket connection as the service thread sees it, reached from the connection's lws
/// per-session data from the upgrade until lws destroys the connection. Everything that changes
/// is in `outbox`'s state machine; this holds what only the service thread touches.
final class WebSocketSession: FragmentWriter {
    /// What the upgrade request asked for, checked before lws accepted it.
    struct Ticket {
        let document: DocumentName
        let since: UInt64?
        /// The client's name for exactly-once actions (`?client=ID`), if it gave one.
        let client: ClientID?
        let role: SessionRole
        let clientAddress: String
        /// The `sub` of the session's signed token, recorded with its changes.
        var author: String? = nil
        /// When the session's signed token expires (seconds since the epoch): it is closed then.
        var expiresAt: Int64? = nil
    }

    let wsi: OpaquePointer
    let ticket: Ticket
    let outbox: WebSocketOutbox
    /// Set once the engine knows the session (not for a session refused at admission).
    var id: SessionID?
    /// The frame lws is writing. With permessage-deflate, lws compresses a large message over
    /// several writeable callbacks, reading the payload in place each time, and calls WRITEABLE
    /// again only once it is done: until then the payload must stay alive.
    var inFlight: OutboundMessage?
    /// A large message going out in fragments, until the last is written.
    var fragmented: FragmentedMessage?
    /// Where the session stands in the line for writing fragments.
    var turn = FragmentTurn.none
    /// permessage-deflate is on for this connection.
    var compresses = false

    init(wsi: OpaquePointer, ticket: Ticket, outbox: WebSocketOutbox) {
        self.wsi = wsi
        self.ticket = ticket
        self.outbox = outbox
    }
}
