import JSONPatch
import SyncEngine
import Testing

@testable import PostgresBackend

/// The one reconnect schedule of every PostgreSQL connection, without sockets.
@Suite struct ReconnectStateMachineTests {
    let start = ContinuousClock.now

    @Test func theFirstAttemptIsAtOnceAndAWorkingConnectionIsUsed() {
        var machine = ReconnectStateMachine()
        #expect(machine.connectionNeeded(now: start) == .connect)
        #expect(machine.connected() == nil)
        #expect(machine.connectionNeeded(now: start) == .use)
    }

    @Test func failedAttemptsBackOffDoublingUpToTheCap() {
        var machine = ReconnectStateMachine(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(500))
        var now = start
        var waits: [Duration] = []
        for _ in 0..<7 {
            #expect(machine.connectionNeeded(now: now) == .connect)
            _ = machine.connectFailed("refused", now: now)
            guard case .wait(let delay) = machine.connectionNeeded(now: now) else {
                Issue.record("a failed attempt is followed by a wait")
                return
            }
            waits.append(delay)
            now += delay
        }
        #expect(waits.map { $0 / .milliseconds(1) } == [50, 100, 200, 400, 500, 500, 500])
    }

    @Test func aRequestDuringTheWaitIsToldHowLongIsLeft() {
        var machine = ReconnectStateMachine(initialDelay: .milliseconds(100), maximumDelay: .seconds(1))
        _ = machine.connectFailed("refused", now: start)
        #expect(machine.connectionNeeded(now: start + .milliseconds(30)) == .wait(.milliseconds(70)))
        #expect(machine.connectionNeeded(now: start + .milliseconds(100)) == .connect)
    }

    @Test func anOutageIsReportedOnceAndItsEndOnce() {
        var machine = ReconnectStateMachine()
        #expect(machine.connectFailed("refused", now: start) == .reportDown("refused"))
        #expect(machine.connectFailed("refused again", now: start) == nil)
        #expect(machine.outage == "refused again")
        #expect(machine.connected() == .reportUp)
        #expect(machine.outage == nil)
        #expect(machine.connected() == nil)
    }

    @Test func aConnectionThatBrokeIsReplacedAtOnceWithoutAnOutage() {
        var machine = ReconnectStateMachine()
        _ = machine.connected()
        machine.connectionLost()
        #expect(machine.connectionNeeded(now: start) == .connect)
        #expect(machine.outage == nil)
        // The replacement fails: now it is an outage, and the backoff starts from the beginning.
        #expect(machine.connectFailed("refused", now: start) == .reportDown("refused"))
        #expect(machine.connectionNeeded(now: start) == .wait(machine.initialDelay))
    }

    @Test func aSuccessResetsTheBackoff() {
        var machine = ReconnectStateMachine(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(500))
        for _ in 0..<5 { _ = machine.connectFailed("refused", now: start) }
        #expect(machine.delay == .milliseconds(500))
        _ = machine.connected()
        #expect(machine.delay == .milliseconds(50))
    }
}
