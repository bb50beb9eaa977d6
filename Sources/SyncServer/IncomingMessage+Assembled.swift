import LibWebsocketsSupport
import SyncEngine

extension IncomingMessage {
    /// A whole message from the transport, for the engine (which needs only a binary one's size).
    init(_ message: AssembledMessage) {
        switch message {
        case .text(let text): self = .text(text)
        case .binary(_, let byteCount): self = .binary(byteCount: byteCount)
        }
    }
}
