import CLibWebsockets
import Logging
import Synchronization

/// Routes libwebsockets' own log lines into a swift-log `Logger`.
///
/// lws keeps one process-wide log sink and calls it with no context pointer,
/// so the logger lives in a global behind a lock.
public enum LibWebsocketsLog {
    private static let sink = Mutex<Logger?>(nil)

    /// Sends lws log lines at or above the logger's level to `logger`.
    public static func route(to logger: Logger) {
        var routed = logger
        routed[metadataKey: "component"] = "libwebsockets"
        sink.withLock { $0 = routed }
        lws_set_log_level(mask(for: logger.logLevel), { level, line in
            LibWebsocketsLog.emit(level: level, line: line)
        })
    }

    /// lws levels we pass on for a swift-log level. lws "notice" lines are chatty
    /// start-up details, so they count as debug.
    static func mask(for level: Logger.Level) -> Int32 {
        let errors = Int32(LLL_ERR)
        let warnings = errors | Int32(LLL_WARN)
        switch level {
        case .trace: return warnings | Int32(LLL_NOTICE) | Int32(LLL_INFO) | Int32(LLL_DEBUG)
        case .debug: return warnings | Int32(LLL_NOTICE)
        case .info, .notice, .warning: return warnings
        case .error, .critical: return errors
        }
    }

    private static func emit(level: Int32, line: UnsafePointer<CChar>?) {
        guard let line else { return }
        var text = String(cString: line)
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        let swiftLevel: Logger.Level
        if level & Int32(LLL_ERR) != 0 {
            swiftLevel = .error
        } else if level & Int32(LLL_WARN) != 0 {
            swiftLevel = .warning
        } else if level & Int32(LLL_NOTICE) != 0 {
            swiftLevel = .debug
        } else {
            swiftLevel = .trace
        }
        let logger = sink.withLock { $0 }
        logger?.log(level: swiftLevel, "\(text)")
    }
}
