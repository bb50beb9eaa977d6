import DequeModule
import CLibWebsockets
import LibWebsocketsSupport

/// One client WebSocket of a `WebSocketClientLoop`, confined to the loop's service thread.
///
/// Handlers get it in their callbacks and may `send` and `close` on it there directly, which
/// costs no wake-up of the loop; from other threads use the loop's methods with the `id`.
public final class WebSocketConnection {
    public let id: WebSocketConnectionID
    public let url: WebSocketURL
    let options: WebSocketConnectionOptions
    let handler: any WebSocketConnectionHandler

    var wsi: OpaquePointer?
    var isOpen = false
    var isFinished = false
    var writableRequested = false
    /// Joins the fragments of the message being received.
    var assembler: MessageAssembler
    var writeBuffer = FrameWriteBuffer()
    var localClose: (code: UInt16, reason: String)?
    var peerClose: (code: UInt16?, reason: String)?
    /// Why the connection is being torn down, when the cause is local (oversized message, write failure).
    var failure: SyncClientError?
    /// OpenSSL's reason for refusing the server's certificate, if it did.
    var certificateRefusal: String?

    private var outbound = Deque<[UInt8]>()

    init(
        id: WebSocketConnectionID, url: WebSocketURL, options: WebSocketConnectionOptions,
        handler: any WebSocketConnectionHandler
    ) {
        self.id = id
        self.url = url
        self.options = options
        self.handler = handler
        assembler = MessageAssembler(limit: options.maximumMessageSize, keepsBinaryPayload: true)
    }

    /// Messages queued and not yet handed to the socket.
    public var queuedMessageCount: Int { outbound.count }

    /// Queues one text message; it is written when the socket is writable, in order.
    public func send(_ message: [UInt8]) {
        guard !isFinished, localClose == nil else { return }
        outbound.append(message)
        requestWritable()
    }

    /// Closes after the queued messages are written. Only the first close counts.
    public func close(code: UInt16 = 1000, reason: String = "") {
        guard !isFinished, localClose == nil else { return }
        localClose = (code, reason)
        requestWritable()
    }

    func requestWritable() {
        guard isOpen, !writableRequested, let wsi else { return }
        writableRequested = true
        lws_callback_on_writable(wsi)
    }

    func popOutbound() -> [UInt8]? {
        outbound.popFirst()
    }
}
