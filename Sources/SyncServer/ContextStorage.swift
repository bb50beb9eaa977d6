import CLibWebsockets
import Glibc
import LibWebsocketsSupport

/// The C structures lws keeps pointers to for the context's whole life:
/// the protocol table, strings and the keepalive policy.
final class ContextStorage {
    private let protocols: UnsafeMutablePointer<lws_protocols>
    private let keepalive: UnsafeMutablePointer<lws_retry_bo_t>
    private var strings: [UnsafeMutablePointer<CChar>] = []
    private let configuration: ServerConfiguration

    init(configuration: ServerConfiguration) {
        self.configuration = configuration
        protocols = .allocate(capacity: 2)
        keepalive = .allocate(capacity: 1)

        var serverProtocol = lws_protocols()
        serverProtocol.name = UnsafePointer(keep("patchsync"))
        serverProtocol.callback = { wsi, reason, user, input, length in
            serverLoopCallback(wsi, reason, user, input, length)
        }
        // Room for the connection's `WebSocketSession` pointer.
        serverProtocol.per_session_data_size = MemoryLayout<UnsafeMutableRawPointer?>.size
        // lws keeps a receive buffer of this size per session: small keeps idle sessions
        // cheap; larger messages just arrive in more pieces.
        serverProtocol.rx_buffer_size = 1024
        // Without this lws cuts every send() to rx_buffer_size: a 600 KB Full took 590 sends and
        // 5 ms of kernel time per session. 64 KiB sends cost a tenth of that and still keep one
        // session's turn on the service thread short. lws allocates nothing per session for it.
        serverProtocol.tx_packet_size = 65536
        protocols.initialize(to: serverProtocol)
        // lws reads the table up to an all-zero entry.
        (protocols + 1).initialize(to: lws_protocols())

        var policy = lws_retry_bo_t()
        policy.secs_since_valid_ping = UInt16(clamping: configuration.keepalive.pingAfterSeconds)
        policy.secs_since_valid_hangup = UInt16(clamping: configuration.keepalive.dropAfterSeconds)
        keepalive.initialize(to: policy)
    }

    deinit {
        protocols.deinitialize(count: 2)
        protocols.deallocate()
        keepalive.deinitialize(count: 1)
        keepalive.deallocate()
        strings.forEach { free($0) }
    }

    /// The context settings; `user` comes back from `lws_context_user` in callbacks.
    func creationInfo(user: UnsafeMutableRawPointer) -> lws_context_creation_info {
        var info = lws_context_creation_info()
        info.protocols = UnsafePointer(protocols)
        info.user = user
        info.vhost_name = UnsafePointer(keep("default"))
        info.max_http_header_data = 4096
        info.retry_and_idle_policy = UnsafePointer(keepalive)
        // Invalid UTF-8 in a text frame closes the session with 1007, as RFC 6455 asks.
        info.options |= UInt64(LWS_SERVER_OPTION_VALIDATE_UTF8)
        if configuration.compression {
            info.extensions = permessageDeflateExtensions
        }
        // No fd_limit_per_thread: below the descriptor limit it makes lws 4.1 find each socket
        // by a linear scan of its table (wsi_from_fd), on every event. lws sizes the table from
        // RLIMIT_NOFILE, which `patchsync serve` sets from --max-connections.
        switch configuration.listener {
        case .tcp(let host, let port):
            info.port = Int32(clamping: port)
            info.iface = UnsafePointer(keep(host))
            if !host.contains(":") {
                info.options |= UInt64(LWS_SERVER_OPTION_DISABLE_IPV6)
            }
        case .unix(let path):
            info.port = 0
            info.iface = UnsafePointer(keep(path))
            info.options |= UInt64(LWS_SERVER_OPTION_UNIX_SOCK)
        }
        return info
    }

    private func keep(_ string: String) -> UnsafeMutablePointer<CChar> {
        let copy = strdup(string)!
        strings.append(copy)
        return copy
    }
}
