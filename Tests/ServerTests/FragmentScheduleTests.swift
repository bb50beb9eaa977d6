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

    @Test func messagesFinishInTheOrderTheyStartedAFewAtATime() {
        var schedule = Self.schedule(perRound: 2)
        let writers = (1...5).map { Writer("w\($0)") }
        var fragmentsLeft = Dictionary(uniqueKeysWithValues: writers.map { ($0.name, 3) })
        var finished: [String] = []
        var underWay = Set<String>()
        func write(_ writer: Writer) {
            fragmentsLeft[writer.name]! -= 1
            underWay.insert(writer.name)
            if fragmentsLeft[writer.name] == 0 {
                finished.append(writer.name)
                underWay.remove(writer.name)
            } else {
                schedule.continueMessage(writer)
            }
        }
        _ = schedule.beginRound()
        for writer in writers where schedule.mayWrite(writer) { write(writer) }
        var rounds = 1
        while finished.count < writers.count && rounds < 100 {
            for writer in schedule.beginRound() where schedule.mayWrite(writer) { write(writer) }
            #expect(underWay.count <= 2)
            rounds += 1
        }
        #expect(finished == ["w1", "w2", "w3", "w4", "w5"])
        // Two fragments a round for six rounds; then w5, alone, one a round (a socket is
        // written once per round).
        #expect(rounds == 9)
    }

    @Test func aGrantedTurnHoldsUntilUsedAndTakesNoBudgetFromOthers() {
        var schedule = Self.schedule(perRound: 2)
        let slow = Writer("slow")
        let fresh = (1...3).map { Writer("f\($0)") }
        _ = schedule.beginRound()
        _ = schedule.mayWrite(Writer("a"))
        _ = schedule.mayWrite(Writer("b"))
        _ = schedule.mayWrite(slow)
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
        for writer in writers where schedule.mayWrite(writer) { schedule.continueMessage(writer) }
        schedule.remove(writers[1])
        #expect(writers[1].turn == .none)
        var order: [String] = []
        for _ in 0..<4 { order += schedule.beginRound().map(\.name) }
        #expect(order == ["w1", "w3"])
    }

    @Test func aWriterInLineOrGrantedItsTurnIsCalledBackWithoutAsking() {
        var schedule = Self.schedule(perRound: 1)
        let first = Writer("first")
        let second = Writer("second")
        _ = schedule.beginRound()
        #expect(!schedule.callsBack(first))
        // `first` writes a fragment with the round's budget and keeps its place; `second` waits.
        let firstWrites = schedule.mayWrite(first)
        schedule.continueMessage(first)
        let secondWrites = schedule.mayWrite(second)
        #expect(firstWrites && !secondWrites)
        #expect(schedule.callsBack(first) && schedule.callsBack(second))
        // Granted its turn, `first` is called back; once its last fragment is written it must ask.
        let granted = schedule.beginRound().map(\.name)
        #expect(granted == ["first"])
        #expect(schedule.callsBack(first))
        let firstWritesItsLast = schedule.mayWrite(first)
        #expect(firstWritesItsLast)
        #expect(!schedule.callsBack(first))
        #expect(schedule.callsBack(second))
    }
}
