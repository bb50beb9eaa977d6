import CLibWebsockets

/// The lws protocol callback. lws calls it on the service thread only; it finds the
/// `ServerLoop` through the context's user pointer, and a WebSocket connection's
/// `WebSocketSession` through its per-session data (`user`).
func serverLoopCallback(
    _ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
    _ input: UnsafeMutableRawPointer?, _ length: Int
) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let loopPointer = lws_context_user(context) else {
        return 0
    }
    let loop = Unmanaged<ServerLoop>.fromOpaque(loopPointer).takeUnretainedValue()
    switch reason {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        loop.handleWakeup()
        return 0
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        // Once shutdown starts, new connections are dropped as they arrive.
        return loop.stopping ? -1 : 0
    case LWS_CALLBACK_HTTP:
        let path = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "/"
        return loop.handleHTTPRequest(wsi, path: path)
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return loop.writeHTTPBody(wsi)
    case LWS_CALLBACK_HTTP_BODY:
        loop.receiveRequestBody(wsi, UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length))
        return 0
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return loop.requestBodyComplete(wsi)
    case LWS_CALLBACK_CLOSED_HTTP:
        loop.forgetHTTP(wsi)
        return 0
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return loop.filterUpgrade(wsi, perSessionData: user)
    case LWS_CALLBACK_ESTABLISHED:
        return loop.openSession(wsi, perSessionData: user)
    case LWS_CALLBACK_RECEIVE:
        guard let session = ServerLoop.session(in: user) else { return -1 }
        return loop.receive(session, UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length))
    case LWS_CALLBACK_SERVER_WRITEABLE:
        guard let session = ServerLoop.session(in: user) else { return 0 }
        return loop.writeSession(session)
    case LWS_CALLBACK_TIMER:
        if let session = ServerLoop.session(in: user) { loop.sessionTimer(session) }
        return 0
    case LWS_CALLBACK_CLOSED:
        if let session = ServerLoop.session(in: user) { loop.closeSession(session) }
        return 0
    case LWS_CALLBACK_WSI_DESTROY:
        loop.releaseSession(in: user)
        loop.forgetHTTP(wsi)
        return 0
    default:
        return lws_callback_http_dummy(wsi, reason, user, input, length)
    }
}
