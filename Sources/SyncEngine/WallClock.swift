import Glibc

/// Wall-clock time for event timestamps and token lifetimes.
public enum WallClock {
    /// Milliseconds since the Unix epoch.
    public static func milliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Whole seconds since the Unix epoch, as JWT's `exp` and `nbf` count.
    public static func seconds() -> Int64 {
        milliseconds() / 1000
    }
}
