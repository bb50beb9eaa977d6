import CLibWebsockets
import Logging
import Synchronization
import SystemSupport

/// A libwebsockets client context with its own service thread, holding any number of
/// WebSocket connections.
///
/// Only `lws_cancel_service` is called from other threads: `open`, `send` and `close` queue a
/// command and wake the service thread, which does the lws work. Handlers run on the service
/// thread. Call `shutdown()` when done; it closes every connection and joins the thread.
public final class WebSocketClientLoop: Sendable {
    /// Settings of the client context.
    public struct Configuration: Sendable {
        /// Seconds a connection may take to resolve, connect and finish the opening handshake.
        public var connectTimeoutSeconds: Int
        /// Set to open `wss://` URLs: whom the loop trusts. Nil (the default) leaves OpenSSL
        /// uninitialised, and `wss://` connections fail with `connectionFailed`.
        public var tls: ClientTLSConfiguration?
        /// Offer permessage-deflate on every connection, so that the server may compress what it
        /// sends; lws inflates it before a handler sees it.
        public var offersCompression: Bool

        public init(connectTimeoutSeconds: Int = 10, tls: ClientTLSConfiguration? = nil, offersCompression: Bool = false) {
            self.connectTimeoutSeconds = connectTimeoutSeconds
            self.tls = tls
            self.offersCompression = offersCompression
        }
    }

    private let core: ClientLoopCore
    private let thread: PosixThread
    private let nextID = Atomic<UInt64>(1)
    private let joined = Atomic<Bool>(false)

    public init(configuration: Configuration = Configuration(), logger: Logger) throws(SyncClientError) {
        if let tls = configuration.tls, let problem = tls.caFileProblem(), let path = tls.caFilePath {
            throw .unusableCAFile(path: path, reason: problem)
        }
        let core = ClientLoopCore(logger: logger)
        guard
            core.createContext(
                connectTimeoutSeconds: configuration.connectTimeoutSeconds, tls: configuration.tls,
                offersCompression: configuration.offersCompression)
        else {
            throw .contextCreationFailed
        }
        let thread: PosixThread
        do {
            thread = try PosixThread { core.runServiceLoop() }
        } catch {
            core.destroyUnstartedContext()
            throw .contextCreationFailed
        }
        self.core = core
        self.thread = thread
    }

    deinit {
        shutdown()
    }

    /// Starts connecting. The handler hears `connectionDidOpen` or, on failure, the close
    /// callback. Does nothing once `shutdown()` has been called.
    @discardableResult
    public func open(
        _ url: WebSocketURL, options: WebSocketConnectionOptions = WebSocketConnectionOptions(),
        handler: any WebSocketConnectionHandler
    ) -> WebSocketConnectionID {
        let id = WebSocketConnectionID(rawValue: nextID.wrappingAdd(1, ordering: .relaxed).oldValue)
        core.enqueue(.open(id: id, url: url, options: options, handler: handler))
        return id
    }

    /// Queues one text message on a connection; dropped if the connection is gone.
    public func send(_ message: [UInt8], on connection: WebSocketConnectionID) {
        core.enqueue(.send(id: connection, message: message))
    }

    /// Closes a connection after its queued messages are written.
    public func close(_ connection: WebSocketConnectionID, code: UInt16 = 1000, reason: String = "") {
        core.enqueue(.close(id: connection, code: code, reason: reason))
    }

    /// Closes every connection (their handlers hear it), stops and joins the service thread.
    /// Safe to call more than once; from a handler it only requests the stop.
    public func shutdown() {
        core.requestStop()
        guard !thread.isCurrent else { return }
        if !joined.exchange(true, ordering: .acquiringAndReleasing) {
            thread.join()
        }
    }
}
