import Glibc

/// A token bucket per session: `rate` messages per second on average, `burst` at once.
struct MessageRateLimiter {
    private let rate: Double
    private let burst: Double
    private var tokens: Double
    private var lastRefill: Double

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(max(burst, 1))
        self.tokens = self.burst
        self.lastRefill = Self.now()
    }

    /// Takes one token if there is one.
    mutating func admit() -> Bool {
        let now = Self.now()
        tokens = min(burst, tokens + (now - lastRefill) * rate)
        lastRefill = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
