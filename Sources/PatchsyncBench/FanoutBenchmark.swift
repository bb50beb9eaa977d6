import Glibc
import Logging
import SyncClient
import Synchronization

/// `PatchsyncBench fanout`: one writer sends actions as fast as the server takes them while
/// watchers count what reaches them; reports actions per second until every watcher has all.
/// With `--rate`, the writer sends at that pace instead, and the time from each send to each
/// watcher's receipt is reported as latency percentiles.
///
/// Every connection lives on one client loop (one service thread) and does minimal work per
/// message, so that the load generator is not what limits the figure: the writer keeps a
/// window of actions in flight, refilled each time one of its own changes comes back, and
/// watchers only recognise a Patch by its first bytes instead of parsing it.
struct FanoutBenchmark {
    struct Options {
        var url: WebSocketURL
        var watchers = 50
        var actions = 10_000
        /// Actions sent but not yet seen back by the writer.
        var window = 64
        /// Against libwebsockets-test-server's `lws-mirror-protocol`: count every message.
        var mirror = false
        /// Every connection offers permessage-deflate, as browsers do.
        var deflate = false
        /// Actions per second, paced; 0 sends as fast as the window allows.
        var rate = 0
        var timeoutSeconds = 300.0

        static let usage = """
            usage: PatchsyncBench fanout --url ws://127.0.0.1:PORT/ws [--watchers 50] [--actions 10000] \
            [--window 64] [--rate ACTIONS_PER_SECOND] [--mirror] [--deflate] [--timeout 300]
            """

        init(arguments: ArraySlice<String>) throws(BenchmarkError) {
            var url: WebSocketURL?
            var rest = arguments
            func value(_ name: String) throws(BenchmarkError) -> String {
                guard let value = rest.popFirst() else { throw BenchmarkError("\(name) needs a value") }
                return value
            }
            func count(_ name: String) throws(BenchmarkError) -> Int {
                let text = try value(name)
                guard let number = Int(text), number > 0 else { throw BenchmarkError("\(name) must be a positive integer, not '\(text)'") }
                return number
            }
            while let argument = rest.popFirst() {
                switch argument {
                case "--url":
                    let text = try value(argument)
                    do { url = try WebSocketURL(parsing: text) } catch { throw BenchmarkError("\(error)") }
                case "--watchers": watchers = try count(argument)
                case "--actions": actions = try count(argument)
                case "--window": window = try count(argument)
                case "--rate": rate = try count(argument)
                case "--timeout": timeoutSeconds = Double(try count(argument))
                case "--mirror": mirror = true
                case "--deflate": deflate = true
                default: throw BenchmarkError("unknown argument '\(argument)'\n\(Self.usage)")
                }
            }
            guard let url else { throw BenchmarkError("--url is required\n\(Self.usage)") }
            self.url = url
        }
    }

    struct Result {
        var seconds: Double
        var generatorCPUSeconds: Double
        var actions: Int
        /// Milliseconds from send to receipt, every watcher's every change, sorted; paced runs only.
        var latencies: [Double]
        var actionsPerSecond: Double { Double(actions) / seconds }
    }

    let options: Options
    let logger: Logger

    /// Runs `fanout` with the arguments after its name; prints the result line and returns the
    /// exit status (0 on success, 1 on failure, 2 on bad arguments).
    static func main(arguments: ArraySlice<String>) -> Int32 {
        let options: Options
        do {
            options = try Options(arguments: arguments)
        } catch {
            writeStandardError("PatchsyncBench fanout: \(error)\n")
            return 2
        }
        let logger = benchmarkLogger("fanout")
        do {
            let result = try FanoutBenchmark(options: options, logger: logger).run()
            let rate = (result.actionsPerSecond * 10).rounded() / 10
            let seconds = (result.seconds * 1000).rounded() / 1000
            // The generator's own CPU time during the run, to check that it is not what limits the rate.
            let cpu = (result.generatorCPUSeconds * 1000).rounded() / 1000
            var line = "fanout url=\(options.url) watchers=\(options.watchers) actions=\(options.actions) window=\(options.window) mirror=\(options.mirror) deflate=\(options.deflate) seconds=\(seconds) actions_per_second=\(rate) generator_cpu_seconds=\(cpu)"
            if !result.latencies.isEmpty {
                func percentile(_ p: Double) -> String {
                    let index = min(result.latencies.count - 1, Int(p * Double(result.latencies.count)))
                    return formatted(result.latencies[index], digits: 3)
                }
                line += " latency_p50_ms=\(percentile(0.5)) latency_p99_ms=\(percentile(0.99))"
            }
            print(line)
            return 0
        } catch {
            writeStandardError("PatchsyncBench fanout: \(error)\n")
            return 1
        }
    }

    func run() throws(BenchmarkError) -> Result {
        let loop: WebSocketClientLoop
        do {
            loop = try WebSocketClientLoop(configuration: .init(offersCompression: options.deflate), logger: logger)
        } catch {
            throw BenchmarkError("\(error)")
        }
        defer { loop.shutdown() }
        let run = FanoutRun(options: options)
        let connectionOptions = WebSocketConnectionOptions(
            subprotocol: options.mirror ? "lws-mirror-protocol" : nil, maximumMessageSize: 16 << 20)
        for _ in 0..<options.watchers {
            loop.open(options.url, options: connectionOptions, handler: FanoutWatcher(run: run))
        }
        let writer = loop.open(options.url, options: connectionOptions, handler: FanoutWriter(run: run))

        let deadline = monotonicSeconds() + options.timeoutSeconds
        if options.rate > 0 {
            while !run.allReady.load(ordering: .acquiring) {
                if monotonicSeconds() > deadline { throw BenchmarkError("timed out connecting: \(run.progress)") }
                usleep(2_000)
            }
            sendPaced(on: writer, loop: loop, run: run)
        }
        while true {
            switch run.outcome.withLock({ $0 }) {
            case .running:
                if monotonicSeconds() > deadline {
                    throw BenchmarkError("timed out after \(options.timeoutSeconds) s: \(run.progress)")
                }
                usleep(2_000)
            case .finished(let seconds, let cpuSeconds):
                return Result(
                    seconds: seconds, generatorCPUSeconds: cpuSeconds, actions: options.actions,
                    latencies: run.sortedLatencies())
            case .failed(let reason):
                throw BenchmarkError(reason)
            }
        }
    }
}

extension FanoutBenchmark {
    /// Sends every action at its time on the schedule, from this thread, recording when.
    fileprivate func sendPaced(on writer: WebSocketConnectionID, loop: WebSocketClientLoop, run: FanoutRun) {
        let start = monotonicSeconds()
        for index in 0..<options.actions {
            let due = start + Double(index) / Double(options.rate)
            let wait = due - monotonicSeconds()
            if wait > 0 { usleep(useconds_t(wait * 1e6)) }
            run.sendTimes.withLock { $0[index] = monotonicSeconds() }
            loop.send(run.messages[index], on: writer)
        }
    }
}

/// Writes to file descriptor 2 directly: Glibc's `stderr` is a global Swift 6 will not share.
private func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

private func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The state of one run. Everything but `outcome` is touched only on the loop's service thread.
final class FanoutRun: @unchecked Sendable {
    enum Outcome: Sendable {
        case running
        case finished(seconds: Double, cpuSeconds: Double)
        case failed(String)
    }

    let options: FanoutBenchmark.Options
    let messages: [[UInt8]]
    let outcome = Mutex(Outcome.running)
    /// Every connection has its first message; set on the loop's thread, read by a pacing thread.
    let allReady = Atomic<Bool>(false)
    /// When each action was sent, in paced runs (written by the pacing thread).
    let sendTimes: Mutex<[Double]>
    /// Milliseconds from send to receipt; loop thread only.
    var latencies: [Double] = []

    var ready = 0
    var writer: WebSocketConnection?
    var sent = 0
    var startedAt = 0.0
    var startedAtCPU = 0.0
    var watchersDone = 0
    var watcherCounts: [Int] = []

    init(options: FanoutBenchmark.Options) {
        self.options = options
        messages = (0..<options.actions).map { Self.action($0, mirror: options.mirror) }
        sendTimes = Mutex([Double](repeating: 0, count: options.rate > 0 ? options.actions : 0))
    }

    /// Records the latency of changes `range` (in send order), received now.
    func received(_ range: Range<Int>) {
        guard options.rate > 0 else { return }
        let now = monotonicSeconds()
        sendTimes.withLock { times in
            for index in range where index < times.count { latencies.append((now - times[index]) * 1000) }
        }
    }

    func sortedLatencies() -> [Double] {
        latencies.sorted()
    }

    /// Each action changes the Todo list, so each yields exactly one Patch; the list stays at
    /// most 100 rows so the work per action does not grow during the run.
    static func action(_ number: Int, mirror: Bool) -> [UInt8] {
        let text =
            number % 10 == 9
            ? #"{"type":"ChangeName","name":"list \#(number)"}"#
            : #"{"type":"Update","index":\#(number % 100 + 1),"row":{"name":"item \#(number)","completed":\#(number % 2 == 0)}}"#
        return Array(text.utf8)
    }

    var progress: String {
        let slowest = watcherCounts.min() ?? 0
        return "\(ready)/\(options.watchers + 1) connections ready, \(sent)/\(options.actions) sent, \(watchersDone)/\(options.watchers) watchers done, slowest watcher at \(slowest)"
    }

    func connectionReady() {
        ready += 1
        guard ready == options.watchers + 1, let writer else { return }
        startedAt = monotonicSeconds()
        startedAtCPU = processCPUSeconds()
        allReady.store(true, ordering: .releasing)
        guard options.rate == 0 else { return }
        for _ in 0..<min(options.window, options.actions) { sendNext(on: writer) }
    }

    func sendNext(on writer: WebSocketConnection) {
        guard options.rate == 0, sent < messages.count else { return }
        writer.send(messages[sent])
        sent += 1
    }

    func watcherFinished() {
        watchersDone += 1
        if watchersDone == options.watchers {
            let seconds = monotonicSeconds() - startedAt
            let cpuSeconds = processCPUSeconds() - startedAtCPU
            outcome.withLock { $0 = .finished(seconds: seconds, cpuSeconds: cpuSeconds) }
        }
    }

    func fail(_ reason: String) {
        outcome.withLock { outcome in
            if case .running = outcome { outcome = .failed(reason) }
        }
    }

    /// How many changes a message carries: one for any message against the mirror server; for a
    /// Patch (recognised by its type within the first bytes), `version - from`, read from the
    /// message's tail (`..."version":V,"from":F}`) without parsing it; else none.
    func changes(in message: UnsafeRawBufferPointer) -> Int {
        if options.mirror { return 1 }
        guard Self.find(Self.patchType, in: message, within: 0..<min(message.count, 48)) != nil else { return 0 }
        let tail = max(0, message.count - 64)..<message.count
        guard let versionEnd = Self.find(Self.versionKey, in: message, within: tail),
            let fromEnd = Self.find(Self.fromKey, in: message, within: tail),
            let version = Self.number(in: message, at: versionEnd), let from = Self.number(in: message, at: fromEnd),
            version > from
        else { return 1 }
        return version - from
    }

    private static let patchType = Array("\"Patch\"".utf8)
    private static let versionKey = Array("\"version\":".utf8)
    private static let fromKey = Array("\"from\":".utf8)

    /// The index just past the first occurrence of `pattern` within `range`.
    private static func find(_ pattern: [UInt8], in message: UnsafeRawBufferPointer, within range: Range<Int>) -> Int? {
        guard range.count >= pattern.count else { return nil }
        for start in range.lowerBound...(range.upperBound - pattern.count) {
            var matches = true
            for offset in 0..<pattern.count where message[start + offset] != pattern[offset] {
                matches = false
                break
            }
            if matches { return start + pattern.count }
        }
        return nil
    }

    private static func number(in message: UnsafeRawBufferPointer, at start: Int) -> Int? {
        var value = 0
        var index = start
        while index < message.count, message[index] >= 0x30, message[index] <= 0x39 {
            value = value * 10 + Int(message[index] - 0x30)
            index += 1
        }
        return index > start ? value : nil
    }
}

/// Counts changes; done when it has seen all of them.
final class FanoutWatcher: WebSocketConnectionHandler, @unchecked Sendable {
    let run: FanoutRun
    private var counted = 0
    private var isReady = false
    private var index = 0

    init(run: FanoutRun) {
        self.run = run
    }

    func connectionDidOpen(_ connection: WebSocketConnection) {
        index = run.watcherCounts.count
        run.watcherCounts.append(0)
        // The mirror server sends nothing on connect; the others send the Full first.
        if run.options.mirror { markReady() }
    }

    private func markReady() {
        isReady = true
        run.connectionReady()
    }

    func connection(_ connection: WebSocketConnection, didReceive message: UnsafeRawBufferPointer, isBinary: Bool) {
        guard isReady else {
            markReady()
            return
        }
        let changes = run.changes(in: message)
        guard changes > 0 else { return }
        run.received(counted..<(counted + changes))
        counted += changes
        run.watcherCounts[index] = counted
        if counted == run.options.actions { run.watcherFinished() }
    }

    func connection(_ connection: WebSocketConnection, didCloseWith error: SyncClientError) {
        if counted < run.options.actions { run.fail("a watcher's connection ended after \(counted) changes: \(error)") }
    }
}

/// Sends the actions, keeping `window` of them in flight.
final class FanoutWriter: WebSocketConnectionHandler, @unchecked Sendable {
    let run: FanoutRun
    private var isReady = false
    private var seen = 0

    init(run: FanoutRun) {
        self.run = run
    }

    func connectionDidOpen(_ connection: WebSocketConnection) {
        run.writer = connection
        if run.options.mirror {
            isReady = true
            run.connectionReady()
        }
    }

    func connection(_ connection: WebSocketConnection, didReceive message: UnsafeRawBufferPointer, isBinary: Bool) {
        guard isReady else {
            isReady = true
            run.connectionReady()
            return
        }
        let changes = run.changes(in: message)
        guard changes > 0 else {
            if !isBinary, message.count < 512 {
                let text = String(decoding: message, as: UTF8.self)
                if text.contains("\"Error\"") { run.fail("the server refused an action: \(text)") }
            }
            return
        }
        seen += changes
        for _ in 0..<changes { run.sendNext(on: connection) }
    }

    func connection(_ connection: WebSocketConnection, didCloseWith error: SyncClientError) {
        if seen < run.options.actions { run.fail("the writer's connection ended after \(seen) changes: \(error)") }
    }
}
