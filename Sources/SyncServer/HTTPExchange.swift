import SyncAPI

/// One HTTP request on the service thread, from its headers to the last byte of its response.
final class HTTPExchange {
    /// Names an exchange across threads: an answer from the HTTP handler finds its exchange by it,
    /// and finds nothing if the connection went away meanwhile.
    struct ID: Hashable, Sendable {
        let rawValue: UInt64
    }

    enum Phase {
        /// An API request whose body is still arriving; `tooLarge` once it passed the limit.
        case receivingBody(HTTPRequest, tooLarge: Bool)
        /// With the HTTP handler.
        case awaitingHandler
        /// Writing the response: its head (unless written already), then a body chunk per
        /// HTTP_WRITEABLE.
        case responding(head: (status: UInt32, contentType: String)?, body: [UInt8], offset: Int)
    }

    let id: ID
    let wsi: OpaquePointer
    var phase: Phase

    init(id: ID, wsi: OpaquePointer, phase: Phase) {
        self.id = id
        self.wsi = wsi
        self.phase = phase
    }
}
