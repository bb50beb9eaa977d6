import LibWebsocketsSupport
import SyncAPI

/// What other threads hand to the server's service thread.
enum ServerWakeupItem: Sendable {
    /// A session's outbox needs attention (a message queued, a close requested).
    case outbox(WebSocketOutbox)
    /// An HTTP handler's answer.
    case completion(HTTPCompletion)
}

typealias ServerWakeup = LoopWakeup<ServerWakeupItem>

/// An HTTP handler's answer on its way back to the service thread.
struct HTTPCompletion: Sendable {
    /// The exchange it answers, to check that its connection is still waiting.
    let exchange: HTTPExchange.ID
    let response: HTTPResponse
}

extension LoopWakeup where Item == ServerWakeupItem {
    /// Asks the service thread to look at `outbox`.
    func schedule(_ outbox: WebSocketOutbox) {
        post(.outbox(outbox))
    }

    /// Hands an HTTP handler's response to the service thread.
    func deliver(_ completion: HTTPCompletion) {
        post(.completion(completion))
    }
}
