import JSONCodec
import JSONPatch
import LibWebsocketsSupport
import SyncEngine
import SyncProtocol
import Testing

@testable import SyncServer

/// The session lifecycle without sockets: what the transport is told to do after each event.
@Suite struct SessionStateMachineTests {
    typealias Machine = SessionStateMachine

    static func configuration(
        queueLimit: Int = 1 << 20, rate: (Double, Int)? = nil, coalesce: Bool = true
    ) -> Machine.Configuration {
        Machine.Configuration(
            maximumMessageBytes: 64, queueLimitBytes: queueLimit, rate: rate, refusalsBeforeClose: 3,
            coalescesPatches: coalesce)
    }

    static func patch(_ version: UInt64, name: String = "x") throws -> OutboundMessage {
        let ops = try JSONPatch(json: [["op": "replace", "path": "/name", "value": .string(name)]])
        return try ServerMessage.patch(ops, version: version)
    }

    /// The text of each message a write step writes: one frame, coalesced when several.
    static func written(_ action: Machine.WriteAction) -> (text: String, more: Bool)? {
        guard case .write(let first, let following, let more) = action else { return nil }
        let message = following.isEmpty ? first : ServerMessage.coalesce([first] + following)
        return (String(decoding: message.bytes, as: UTF8.self), more)
    }

    static func receive(_ machine: inout Machine, _ text: String, isLast: Bool = true) -> Machine.ReceiveAction {
        Array(text.utf8).withUnsafeBytes { machine.receive($0, isBinary: false, isLast: isLast) }
    }

    @Test func aSessionThatKeepsUpGetsOneFramePerMessage() throws {
        var machine = Machine(configuration: Self.configuration())
        let result1 = machine.enqueue(try Self.patch(1))
        #expect(result1)
        let result2 = machine.wakeup()
        #expect(result2 == .requestWrite)
        let patch = Self.written(machine.writable())
        #expect(patch?.text == #"{"type":"Patch","ops":[{"op":"replace","path":"/name","value":"x"}],"version":1,"from":0}"#)
        let result3 = machine.enqueue(ServerMessage.ack(id: 1, version: 1))
        #expect(result3)
        let result4 = machine.wakeup()
        #expect(result4 == .requestWrite)
        let ack = Self.written(machine.writable())
        #expect(ack?.text == #"{"type":"Ack","id":1,"version":1}"#)
        guard case .none = machine.writable() else {
            Issue.record("nothing is left to write")
            return
        }
    }

    @Test func onlyTheFirstSendAfterAWakeupWakesTheTransport() throws {
        var machine = Machine(configuration: Self.configuration())
        let first = machine.enqueue(try Self.patch(1))
        let second = machine.enqueue(try Self.patch(2))
        let wakeup = machine.wakeup()
        let third = machine.enqueue(try Self.patch(3))
        #expect(first && !second && third)
        #expect(wakeup == .requestWrite)
    }

    @Test func patchesThatQueuedUpGoOutAsOneWithAcksAfterIt() throws {
        var machine = Machine(configuration: Self.configuration())
        _ = machine.enqueue(try Self.patch(5, name: "a"))
        _ = machine.enqueue(ServerMessage.ack(id: "a", version: 5))
        _ = machine.enqueue(try Self.patch(6, name: "b"))
        _ = machine.enqueue(ServerMessage.error(id: "c", code: .invalidIndex, message: "no"))
        _ = machine.enqueue(try Self.patch(7, name: "c"))
        _ = machine.wakeup()
        let first = try #require(Self.written(machine.writable()))
        #expect(
            first.text
                == #"{"type":"Patch","ops":[{"op":"replace","path":"/name","value":"a"},{"op":"replace","path":"/name","value":"b"},{"op":"replace","path":"/name","value":"c"}],"version":7,"from":4}"#
        )
        #expect(first.more)
        let ack = Self.written(machine.writable())
        #expect(ack?.text == #"{"type":"Ack","id":"a","version":5}"#)
        let error = Self.written(machine.writable())
        #expect(error?.text.contains(#""code":"invalid_index""#) == true)
        #expect(machine.queuedBytes == 0)
    }

    @Test func theCoalescedPatchDecodesToTheOpsInOrder() throws {
        let merged = ServerMessage.coalesce([try Self.patch(1, name: "a"), try Self.patch(2, name: "b")])
        let value = try JSONCodec.decode(merged.bytes)
        #expect(value["version"] == 2)
        #expect(value["from"] == 0)
        #expect(value["ops"]?.arrayValue?[1]["value"] == "b")
        #expect(merged.kind == .patch(from: 0, version: 2, ops: 22..<(merged.count - 22)))
    }

    @Test func withoutCoalescingEveryVersionIsAFrame() throws {
        var machine = Machine(configuration: Self.configuration(coalesce: false))
        _ = machine.enqueue(try Self.patch(1))
        _ = machine.enqueue(try Self.patch(2))
        let texts = [Self.written(machine.writable())?.text, Self.written(machine.writable())?.text]
        #expect(texts[0]?.hasSuffix(#""version":1,"from":0}"#) == true)
        #expect(texts[1]?.hasSuffix(#""version":2,"from":1}"#) == true)
    }

    @Test func coalescingStopsAtAFullAndAtAGap() throws {
        var machine = Machine(configuration: Self.configuration())
        _ = machine.enqueue(try Self.patch(1))
        _ = machine.enqueue(try Self.patch(3))
        _ = machine.enqueue(OutboundMessage(Array(#"{"type":"Full"}"#.utf8)))
        _ = machine.enqueue(try Self.patch(4))
        let texts = (0..<4).map { _ in Self.written(machine.writable())?.text }
        #expect(texts[0]?.hasSuffix(#""version":1,"from":0}"#) == true)
        #expect(texts[1]?.hasSuffix(#""version":3,"from":2}"#) == true)
        #expect(texts[2] == #"{"type":"Full"}"#)
        #expect(texts[3]?.hasSuffix(#""version":4,"from":3}"#) == true)
    }

    @Test func aClientTooSlowLosesItsQueueAndClosesWith1013() throws {
        let patch = try Self.patch(1)
        var machine = Machine(configuration: Self.configuration(queueLimit: patch.count * 2))
        _ = machine.enqueue(patch)
        _ = machine.enqueue(try Self.patch(2))
        _ = machine.enqueue(try Self.patch(3))
        guard case .beginClose(let frame, droppedQueue: true) = machine.wakeup() else {
            Issue.record("the session should begin closing")
            return
        }
        #expect(frame.code == .tryAgainLater)
        let result5 = machine.enqueue(try Self.patch(4))
        #expect(!result5)
        guard case .close(let written) = machine.writable() else {
            Issue.record("the close frame is the next write")
            return
        }
        #expect(written == frame)
        guard case .none = machine.writable() else {
            Issue.record("nothing after the close frame")
            return
        }
    }

    @Test func theEnginesCloseWaitsForWhatIsQueued() throws {
        var machine = Machine(configuration: Self.configuration())
        _ = machine.enqueue(try Self.patch(1))
        let result6 = machine.closeAfterQueue(.init(code: .policyViolation, reason: "bye"))
        #expect(!result6)
        let result7 = machine.enqueue(try Self.patch(2))
        #expect(!result7)
        let wakeup = machine.wakeup()
        #expect(wakeup == .beginClose(.init(code: .policyViolation, reason: "bye"), droppedQueue: false))
        let last = Self.written(machine.writable())
        #expect(last?.text.hasSuffix(#""version":1,"from":0}"#) == true)
        #expect(last?.more == true)
        guard case .close(let frame) = machine.writable() else {
            Issue.record("the close frame follows the queue")
            return
        }
        #expect(frame.code == .policyViolation)
    }

    @Test func shutdownClosesWith1001AfterTheQueueOnce() throws {
        var machine = Machine(configuration: Self.configuration())
        let first = machine.shutdown()
        #expect(first == .beginClose(.init(code: .goingAway, reason: "server shutting down"), droppedQueue: false))
        let second = machine.shutdown()
        #expect(second == .none)
        let wakeup = machine.wakeup()
        #expect(wakeup == .requestWrite)
    }

    @Test func aMessageOverTheLimitClosesWith1009AtOnce() throws {
        var machine = Machine(configuration: Self.configuration())
        _ = machine.enqueue(try Self.patch(1))
        let result8 = Self.receive(&machine, String(repeating: "x", count: 40), isLast: false)
        #expect(result8 == .none)
        guard case .beginClose(let frame) = Self.receive(&machine, String(repeating: "x", count: 40)) else {
            Issue.record("a message over the limit closes the session")
            return
        }
        #expect(frame.code == .messageTooBig)
        guard case .close = machine.writable() else {
            Issue.record("the queue is dropped: the close frame is next")
            return
        }
    }

    @Test func piecesAreJoinedIntoOneMessage() {
        var machine = Machine(configuration: Self.configuration())
        let result9 = Self.receive(&machine, #"{"type":"#, isLast: false)
        #expect(result9 == .none)
        let result10 = Self.receive(&machine, #""Add"}"#)
        #expect(result10 == .deliver(.text(Array(#"{"type":"Add"}"#.utf8))))
    }

    @Test func overTheRateMessagesAreRefusedThenTheSessionCloses() {
        var machine = Machine(configuration: Self.configuration(rate: (0.001, 1)))
        let result11 = Self.receive(&machine, "1")
        #expect(result11 == .deliver(.text(Array("1".utf8))))
        for attempt in 1...3 {
            guard case .refuse(let message, .rateLimited, _, let close) = Self.receive(&machine, "\(attempt + 1)") else {
                Issue.record("message \(attempt + 1) is over the rate")
                return
            }
            #expect(message == .text(Array("\(attempt + 1)".utf8)))
            #expect((close != nil) == (attempt == 3))
        }
        #expect(machine.state == .refusingInput)
        let afterClose = Self.receive(&machine, "5")
        #expect(afterClose == .none)
        let wakes = machine.closeAfterQueue(.init(code: .policyViolation, reason: "message rate limit exceeded"))
        #expect(wakes)
    }

    @Test func aSessionRefusedAtAdmissionClosesFirst() {
        var machine = Machine(
            configuration: Self.configuration(), refusedWith: .init(code: .policyViolation, reason: "too many"))
        let start = machine.start()
        #expect(start == .beginClose(.init(code: .policyViolation, reason: "too many"), droppedQueue: false))
        guard case .close(let frame) = machine.writable() else {
            Issue.record("the close frame is the only write")
            return
        }
        #expect(frame.reason == "too many")
    }

    @Test func nothingIsQueuedOnceTheConnectionIsGone() throws {
        var machine = Machine(configuration: Self.configuration())
        machine.connectionClosed()
        let queued = machine.enqueue(try Self.patch(1))
        #expect(!queued)
        #expect(machine.queuedBytes == 0)
    }
}

@Suite struct CloseReasonTests {
    @Test func longReasonsAreCutAtACharacterBoundary() {
        let reason = String(repeating: "é", count: 100)
        let cut = Array(CloseReason.truncated(reason))
        #expect(cut.count == 122)
        #expect(String(validating: cut, as: UTF8.self) != nil)
        #expect(Array(CloseReason.truncated("short")) == Array("short".utf8))
    }

    @Test func aPeersClosePayloadIsItsStatusThenItsReason() {
        let payload: [UInt8] = [0x03, 0xE9] + Array("going away".utf8)
        let parsed = payload.withUnsafeBytes { CloseReason.parse($0) }
        #expect(parsed.code == 1001 && parsed.reason == "going away")
        let empty = [UInt8]().withUnsafeBytes { CloseReason.parse($0) }
        #expect(empty.code == nil && empty.reason == "")
    }
}

@Suite struct ContentLengthTests {
    @Test func identicalRepeatedValuesAreOneLength() {
        #expect(ContentLength.parse(nil) == .success(nil))
        #expect(ContentLength.parse("12") == .success(12))
        #expect(ContentLength.parse("12, 12") == .success(12))
        #expect(ContentLength.parse("12,12") == .success(12))
    }

    @Test func differingOrMalformedValuesAreRefused() {
        #expect(ContentLength.parse("12, 13") == .failure(.conflicting("12, 13")))
        #expect(ContentLength.parse("-1") == .failure(.notANumber("-1")))
        #expect(ContentLength.parse("1e3") == .failure(.notANumber("1e3")))
        #expect(ContentLength.parse("12,") == .failure(.notANumber("12,")))
    }
}
