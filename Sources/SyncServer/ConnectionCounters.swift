import SyncAPI
import Synchronization

/// Connection counters kept by the service thread and read by `/metrics` from any thread.
public final class ConnectionCounters: TransportMetricsSource {
    private let open = Atomic<Int>(0)
    private let total = Atomic<UInt64>(0)
    private let slowClients = Atomic<UInt64>(0)

    public init() {}

    public func transportMetrics() -> TransportMetrics {
        TransportMetrics(
            connectionsOpen: open.load(ordering: .relaxed),
            connectionsTotal: total.load(ordering: .relaxed),
            slowClientDisconnects: slowClients.load(ordering: .relaxed))
    }

    func sessionOpened() {
        open.add(1, ordering: .relaxed)
        total.add(1, ordering: .relaxed)
    }

    func sessionClosed() {
        open.subtract(1, ordering: .relaxed)
    }

    func slowClientDisconnected() {
        slowClients.add(1, ordering: .relaxed)
    }
}
