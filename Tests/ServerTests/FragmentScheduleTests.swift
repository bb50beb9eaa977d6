import Testing

@testable import SyncServer

/// How sessions with large messages share the service rounds, without sockets.
@Suite struct FragmentScheduleTests {
    final class Writer: FragmentWriter {
        var turn = FragmentTurn.none
        let name: String
        init(_ name: String) { self.name = name }
    }

    static func schedule(perRound: Int) -> FragmentSchedule<Writer> {
        var configuration = FragmentSchedule<Writer>.Configuration()
        configuration.fragmentsPerRound = perRound
        return FragmentSchedule(configuration: configuration)
    }

    @Test func aRoundWritesOnlyItsBudgetAndTheRestWaitInLine() {
        var schedule = Self.schedule(perRound: 2)
        let writers = (1...5).map { Writer("w\($0)") }
        #expect(schedule.beginRound().isEmpty)
        let allowed = writers.filter { schedule.mayWrite($0) }
        #expect(allowed.map(\.name) == ["w1", "w2"])
        #expect(writers.dropFirst(2).allSatisfy { $0.turn == .waiting })
        // Asked again in the same round (lws called WRITEABLE for another reason): still waiting.
        let again = schedule.mayWrite(writers[2])
        #expect(!again)
    }

    @Test func turnsGoInOrderAndAWriterWithMoreGoesToTheBackOfTheLine() {
        var schedule = Self.schedule(perRound: 2)
        let writers = (1...3).map { Writer("w\($0)") }
        _ = schedule.beginRound()
        for writer in writers where schedule.mayWrite(writer) {
            schedule.wait(writer)  // wrote a fragment, has more
        }
        var order: [String] = []
        for _ in 0..<3 {
            let granted = schedule.beginRound()
            #expect(granted.count == 2)
            for writer in granted {
                let allowed = schedule.mayWrite(writer)
                #expect(allowed)
                order.append(writer.name)
                schedule.wait(writer)
            }
        }
        #expect(order == ["w1", "w2", "w3", "w1", "w2", "w3"])
    }

    @Test func aGrantedTurnHoldsUntilUsedAndTakesNoBudgetFromOthers() {
        var schedule = Self.schedule(perRound: 2)
        let slow = Writer("slow")
        let fresh = (1...3).map { Writer("f\($0)") }
        _ = schedule.beginRound()
        _ = schedule.mayWrite(Writer("a"))
        _ = schedule.mayWrite(Writer("b"))
        schedule.wait(slow)
        #expect(schedule.beginRound().map(\.name) == ["slow"])
        // The slow writer's socket is full: lws does not call it this round. One fragment of
        // budget is left for the others.
        let allowed = fresh.filter { schedule.mayWrite($0) }
        #expect(allowed.map(\.name) == ["f1"])
        _ = schedule.beginRound()
        let slowWrites = schedule.mayWrite(slow)
        #expect(slowWrites)
    }

    @Test func aClosedWriterLeavesTheLine() {
        var schedule = Self.schedule(perRound: 1)
        let writers = (1...3).map { Writer("w\($0)") }
        _ = schedule.beginRound()
        for writer in writers where schedule.mayWrite(writer) { schedule.wait(writer) }
        schedule.remove(writers[1])
        #expect(writers[1].turn == .none)
        var order: [String] = []
        for _ in 0..<4 { order += schedule.beginRound().map(\.name) }
        #expect(order == ["w1", "w3"])
    }
}
