/// Connection counters that only the transport knows, for `/metrics`.
public struct TransportMetrics: Sendable, Hashable {
    /// WebSocket sessions open now.
    public var connectionsOpen: Int
    /// WebSocket sessions accepted since start.
    public var connectionsTotal: UInt64
    /// Sessions closed because their outbound queue grew past the limit.
    public var slowClientDisconnects: UInt64

    public init(connectionsOpen: Int = 0, connectionsTotal: UInt64 = 0, slowClientDisconnects: UInt64 = 0) {
        self.connectionsOpen = connectionsOpen
        self.connectionsTotal = connectionsTotal
        self.slowClientDisconnects = slowClientDisconnects
    }
}

/// Implemented by the server; read on every `/metrics` request, from any thread.
public protocol TransportMetricsSource: Sendable {
    func transportMetrics() -> TransportMetrics
}
