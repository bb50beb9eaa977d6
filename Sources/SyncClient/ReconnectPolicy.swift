extension SyncClient {
    /// When and how often a `SyncClient` reconnects after losing its connection.
    ///
    /// The wait before attempt n is `initialDelay * multiplier^(n-1)`, at most `maximumDelay`,
    /// of which the fraction `jitter` is random, so that clients cut off together by a restart
    /// do not all come back in the same instant.
    public struct ReconnectPolicy: Sendable {
        public var initialDelay: Duration
        public var maximumDelay: Duration
        public var multiplier: Double
        /// 0 waits the full delay; 0.5 waits between half of it and all of it.
        public var jitter: Double

        public init(
            initialDelay: Duration = .milliseconds(250), maximumDelay: Duration = .seconds(10), multiplier: Double = 2,
            jitter: Double = 0.5
        ) {
            self.initialDelay = initialDelay
            self.maximumDelay = max(initialDelay, maximumDelay)
            self.multiplier = max(1, multiplier)
            self.jitter = min(1, max(0, jitter))
        }

        /// The wait before the attempt that follows `failures` failed ones (the first attempt: 0 failures).
        public func delay(afterFailures failures: Int, using generator: inout some RandomNumberGenerator) -> Duration {
            var seconds = initialDelay.seconds
            for _ in 0..<min(failures, 64) where seconds < maximumDelay.seconds { seconds *= multiplier }
            seconds = min(seconds, maximumDelay.seconds)
            let random = Double.random(in: 0..<1, using: &generator)
            return .nanoseconds(Int64(seconds * (1 - jitter * random) * 1e9))
        }
    }
}
