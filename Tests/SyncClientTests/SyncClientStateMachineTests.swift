import JSONCodec
import JSONPatch
import SyncProtocol
import Testing

@testable import SyncClient

/// A client's life without sockets: what `SyncClientCore` is told to do after each event.
@Suite struct SyncClientStateMachineTests {
    typealias Machine = SyncClientStateMachine

    static let first = WebSocketConnectionID(rawValue: 1)
    static let second = WebSocketConnectionID(rawValue: 2)
    /// No jitter: the delays are exact.
    static let policy = SyncClient.ReconnectPolicy(initialDelay: .milliseconds(100), maximumDelay: .seconds(1), jitter: 0)

    static func received(_ machine: inout Machine, _ text: String, on connection: WebSocketConnectionID = first)
        -> [Machine.Action]
    {
        let json = (try? JSONCodec.decode(Array(text.utf8))) ?? .null
        let decoded = Result { () throws(ServerMessageError) in try ServerMessage(json: json, stateKey: machine.stateKey) }
        return machine.received(decoded, json: json, on: connection)
    }

    static func ended(_ machine: inout Machine, _ connection: WebSocketConnectionID = first) -> [Machine.Action] {
        var generator = SystemRandomNumberGenerator()
        return machine.connectionEnded(connection, with: .closed(code: 1001, reason: "shutdown"), using: &generator)
    }

    /// A machine connected on `first` with the Full of version 1.
    static func connected(reconnect: SyncClient.ReconnectPolicy? = nil) throws -> Machine {
        var machine = Machine(stateKey: "todo", reconnectPolicy: reconnect)
        let connect = try machine.connect()
        #expect(connect.wait && connect.actions == [.openConnection(resumingAfter: nil)])
        machine.connectionStarted(first)
        #expect(machine.connectionOpened(first) == [])
        let full = received(&machine, #"{"type":"Full","todo":{"todos":{}},"version":1,"schema":1,"role":"editor"}"#)
        #expect(full == [.applyFull(version: 1)])
        #expect(machine.phase == .open && machine.version == 1 && machine.document == ["todos": [:]])
        return machine
    }

    static func text(_ action: Machine.Action) -> String? {
        guard case .send(let bytes, _) = action else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func anActionGoesOutWithAnIDAndItsAckResolvesIt() throws {
        var machine = try Self.connected()
        let sent = try machine.send(["type": "Add", "row": ["name": "milk"]])
        #expect(sent.id == 1 && sent.actions.map(Self.text) == [#"{"type":"Add","row":{"name":"milk"},"id":1}"#])
        let patch = Self.received(
            &machine, #"{"type":"Patch","ops":[{"op":"add","path":"/todos/1","value":{"name":"milk"}}],"version":2,"from":1}"#)
        #expect(patch == [.applyPatch(version: 2)])
        #expect(machine.document == ["todos": ["1": ["name": "milk"]]])
        let ackText = #"{"type":"Ack","id":1,"version":2}"#
        let ack = Self.received(&machine, ackText)
        let json = try JSONCodec.decode(Array(ackText.utf8))
        #expect(ack == [.resolve(actionID: 1, SyncClient.Reply(outcome: .ack(version: 2), message: json))])
        #expect(machine.pending.isEmpty)
        // A second reply for the same id, or one for an id never sent, resolves nothing.
        #expect(Self.received(&machine, ackText) == [])
    }

    @Test func anErrorResolvesTheActionWithItsCode() throws {
        var machine = try Self.connected()
        _ = try machine.send(["type": "Remove", "index": 9])
        let actions = Self.received(&machine, #"{"type":"Error","id":1,"code":"invalid_index","message":"no row 9"}"#)
        guard case .resolve(1, let reply)? = actions.first else {
            Issue.record("not resolved: \(actions)")
            return
        }
        #expect(reply.outcome == .error(code: "invalid_index", message: "no row 9"))
    }

    @Test func aPatchOutOfStepReconnectsForAFreshFullAndFailsTheRepliesOfTheOldConnection() throws {
        var machine = try Self.connected()
        _ = try machine.send(["type": "Add", "row": ["name": "milk"]])
        let actions = Self.received(&machine, #"{"type":"Patch","ops":[],"version":5,"from":4}"#)
        #expect(actions.count == 4)
        #expect(actions.dropFirst().first == .openConnection(resumingAfter: nil))
        guard case .fail([1], .closed(nil, let reason))? = actions.dropFirst(2).first else {
            Issue.record("the pending action does not fail: \(actions)")
            return
        }
        #expect(reason.contains("Patch from version 4 does not follow 1"))
        #expect(actions.last == .closeConnection(Self.first, reason: "resynchronising"))
        #expect(!machine.hasFull && machine.pending.isEmpty)
        // The old connection's messages no longer count; the new one's Full does.
        machine.connectionStarted(Self.second)
        #expect(Self.received(&machine, #"{"type":"Full","todo":{},"version":5}"#, on: Self.first) == [])
        #expect(Self.received(&machine, #"{"type":"Full","todo":{},"version":5}"#, on: Self.second) == [.applyFull(version: 5)])
    }

    @Test func aPatchThatDoesNotApplyOrCannotBeReadAlsoResynchronises() throws {
        for patch in [
            #"{"type":"Patch","ops":[{"op":"remove","path":"/todos/9"}],"version":2,"from":1}"#,
            #"{"type":"Patch","ops":"not a patch","version":2}"#,
        ] {
            var machine = try Self.connected()
            let actions = Self.received(&machine, patch)
            #expect(actions.contains(.openConnection(resumingAfter: nil)), "\(patch)")
            #expect(actions.contains(.closeConnection(Self.first, reason: "resynchronising")), "\(patch)")
        }
    }

    @Test func messagesTheMirrorCannotUseAreIgnored() throws {
        var machine = try Self.connected()
        #expect(Self.received(&machine, #"{"type":"Later","x":1}"#) == [])
        #expect(Self.received(&machine, #"{"type":"PresenceLeave","session":4}"#) == [])
        let actions = Self.received(&machine, #"{"type":"Full","state":{}}"#)
        guard case .warn(let reason)? = actions.first, actions.count == 1 else {
            Issue.record("\(actions)")
            return
        }
        #expect(reason == #"ignoring a server message: Full: missing member "todo""#)
        #expect(machine.version == 1)
    }

    @Test func aLostConnectionReconnectsAfterTheDelayAndResendsWhatAwaitsAReply() throws {
        var machine = try Self.connected(reconnect: Self.policy)
        _ = try machine.send(["type": "Add", "row": ["name": "a"]])
        _ = try machine.send(["type": "Add", "row": ["name": "b"]])
        #expect(Self.ended(&machine) == [.reconnect(after: .milliseconds(100))])
        #expect(machine.phase == .reconnecting && machine.connection == nil)
        // Sent while reconnecting: queued, not written.
        let queued = try machine.send(["type": "Add", "row": ["name": "c"]])
        #expect(queued.actions == [])
        #expect(machine.reconnectTimerFired() == [.openConnection(resumingAfter: 1)])
        machine.connectionStarted(Self.second)
        // The attempt fails: the next wait is longer.
        #expect(Self.ended(&machine, Self.second) == [.reconnect(after: .milliseconds(200))])
        #expect(machine.reconnectTimerFired() == [.openConnection(resumingAfter: 1)])
        let third = WebSocketConnectionID(rawValue: 3)
        machine.connectionStarted(third)
        let resent = machine.connectionOpened(third).compactMap(Self.text)
        #expect(resent.map { $0.hasSuffix(#"},"id":1}"#) || $0.hasSuffix(#"},"id":2}"#) || $0.hasSuffix(#"},"id":3}"#) } == [true, true, true])
        #expect(resent.first?.contains(#""name":"a""#) == true && resent.last?.contains(#""name":"c""#) == true)
        #expect(machine.phase == .open && machine.failedReconnects == 0)
    }

    @Test func withoutReconnectionALostConnectionGivesUp() throws {
        var machine = try Self.connected()
        #expect(Self.ended(&machine) == [.giveUp(.closed(code: 1001, reason: "shutdown"))])
        #expect(machine.phase == .closed(.closed(code: 1001, reason: "shutdown")))
        #expect(throws: Machine.SendRefusal.notConnected) { try machine.send(["type": "Add"]) }
        #expect(throws: SyncClientError.notConnected) { try machine.connect() }
    }

    @Test func aClientShuttingDownNeverReconnects() throws {
        var machine = try Self.connected(reconnect: Self.policy)
        machine.prepareForShutdown()
        #expect(Self.ended(&machine) == [.giveUp(.closed(code: 1001, reason: "shutdown"))])
        #expect(machine.reconnectTimerFired() == [])
    }

    @Test func closing() throws {
        var idle = Machine(stateKey: "todo", reconnectPolicy: nil)
        #expect(idle.close() == [.giveUp(.notConnected)])
        var open = try Self.connected()
        #expect(open.close() == [.closeConnection(Self.first, reason: "client closed")])
        #expect(open.phase == .closing && open.close() == [])
        var reconnecting = try Self.connected(reconnect: Self.policy)
        _ = Self.ended(&reconnecting)
        #expect(reconnecting.close() == [.giveUp(.notConnected)])
    }

    @Test func anUnencodableActionIsRefusedWithoutUsingAnID() throws {
        var machine = try Self.connected()
        #expect(throws: Machine.SendRefusal.self) { try machine.send(["type": "Add", "value": .real(.infinity)]) }
        #expect(try machine.send(["type": "Add"]).id == 1)
    }
}
