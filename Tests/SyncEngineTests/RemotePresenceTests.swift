import EngineTestSupport
import FileStore
import JSONCodec
import Logging
import SyncProtocol
import Synchronization
import Testing

@testable import SyncEngine
@testable import TodoModel

@Suite struct RemotePresenceTests {
    private let start = ContinuousClock.now
    private let other: UInt32 = 7
    private let document = DocumentName.default

    private func entry(_ session: UInt64, _ name: String?, focus: String? = nil) -> PresenceEntry {
        PresenceEntry(
            session: SessionID(rawValue: session), name: name, client: ClientID("tab"), since: 1_764_637_200_000,
            role: .editor, focus: focus)
    }

    private func message(_ notices: PresenceNotice...) -> PresenceMessage {
        PresenceMessage(instance: other, notices: notices)
    }

    @Test func anInstanceHeardFirstWithoutItsRosterIsAskedForIt() {
        var remote = RemotePresence(defaultTimeout: .seconds(20))
        let effects = remote.receive(message(.alive(timeout: .seconds(20))), now: start)
        #expect(effects == [.requestRoster(from: other)])
        #expect(remote.receive(message(.alive(timeout: .seconds(20))), now: start).isEmpty)
    }

    @Test func anInstanceThatSendsItsRosterIsNotAskedForIt() {
        var remote = RemotePresence(defaultTimeout: .seconds(20))
        let ana = entry(1, "Ana")
        let effects = remote.receive(
            message(.alive(timeout: .seconds(20)), .rosterBegins, .change(document, .joined(ana)), .rosterEnds), now: start)
        #expect(effects == [.change(document, .joined(ana))])
    }

    @Test func joinsFocusAndLeavesBecomeChangesOnceEach() {
        var remote = RemotePresence(defaultTimeout: .seconds(20))
        let ana = entry(1, "Ana")
        _ = remote.receive(message(.rosterBegins, .rosterEnds), now: start)
        #expect(remote.receive(message(.change(document, .joined(ana))), now: start) == [.change(document, .joined(ana))])
        #expect(remote.receive(message(.change(document, .joined(ana))), now: start).isEmpty, "a repeat changes nothing")
        #expect(
            remote.receive(message(.change(document, .focused(ana.session, "/todos/1"))), now: start)
                == [.change(document, .focused(ana.session, "/todos/1"))])
        #expect(remote.entries(of: document) == [entry(1, "Ana", focus: "/todos/1")])
        #expect(remote.receive(message(.change(document, .left(ana.session))), now: start) == [.change(document, .left(ana.session))])
        #expect(remote.receive(message(.change(document, .left(ana.session))), now: start).isEmpty)
        #expect(remote.entries(of: document).isEmpty)
    }

    @Test func aRosterReplacesWhatWasKnownWithTheDifferences() {
        var remote = RemotePresence(defaultTimeout: .seconds(20))
        _ = remote.receive(
            message(.rosterBegins, .change(document, .joined(entry(1, "Ana"))), .change(document, .joined(entry(2, "Bo"))),
                .rosterEnds),
            now: start)
        let effects = remote.receive(
            message(
                .rosterBegins, .change(document, .joined(entry(2, "Bo", focus: "/name"))),
                .change(document, .joined(entry(3, "Cy"))), .rosterEnds),
            now: start)
        #expect(
            effects == [
                .change(document, .left(SessionID(rawValue: 1))),
                .change(document, .focused(SessionID(rawValue: 2), "/name")),
                .change(document, .joined(entry(3, "Cy"))),
            ])
        #expect(remote.entries(of: document).map(\.name) == ["Bo", "Cy"])
    }

    @Test func aSilentInstanceExpiresAfterTheTimeoutItAnnounced() {
        var remote = RemotePresence(defaultTimeout: .seconds(20))
        _ = remote.receive(
            message(.alive(timeout: .seconds(2)), .rosterBegins, .change(document, .joined(entry(1, "Ana"))), .rosterEnds),
            now: start)
        #expect(remote.expire(now: start + .seconds(2)).isEmpty)
        #expect(remote.expire(now: start + .milliseconds(2001)) == [.change(document, .left(SessionID(rawValue: 1)))])
        #expect(remote.entries(of: document).isEmpty)
        // Heard again after it was dropped: asked for its roster.
        #expect(remote.receive(message(.alive(timeout: .seconds(2))), now: start + .seconds(3)) == [.requestRoster(from: other)])
    }

    @Test func goneDropsTheInstanceAtOnce() {
        var remote = RemotePresence(defaultTimeout: .seconds(20))
        _ = remote.receive(message(.rosterBegins, .change(document, .joined(entry(1, "Ana"))), .rosterEnds), now: start)
        #expect(remote.receive(message(.gone), now: start) == [.change(document, .left(SessionID(rawValue: 1)))])
        #expect(remote.receive(message(.gone), now: start).isEmpty, "an unknown instance's gone is ignored")
    }

    @Test func messagesRoundTripAndSplitBelowTheLimit() throws {
        let focus = String(repeating: "\u{1}", count: PresenceRoster.maximumFocusBytes)
        let name = String(repeating: "\"", count: PresenceName.maximumCharacters)
        let notices: [PresenceNotice] =
            [.alive(timeout: .seconds(20)), .rosterBegins]
            + (1...40).map { .change(document, .joined(entry(UInt64($0) << 32 | 5, name, focus: focus))) }
            + [
                .rosterEnds, .change(document, .focused(SessionID(rawValue: 9), nil)),
                .change(document, .left(SessionID(rawValue: 9))), .rosterRequest(to: 3), .rosterRequest(to: nil), .gone,
            ]
        let payloads = PresenceMessage.payloads(instance: other, notices: notices, maximumBytes: 7900)
        #expect(payloads.count > 1)
        #expect(payloads.allSatisfy { $0.count <= 7900 })
        let decoded = payloads.compactMap(PresenceMessage.init(payload:))
        #expect(decoded.count == payloads.count)
        #expect(decoded.allSatisfy { $0.instance == other })
        #expect(decoded.flatMap(\.notices) == notices)
    }

    @Test(arguments: [
        #"{"instance":7,"notices":[{"type":"join","document":"default","entry":{"session":1,"name":7}}]}"#,
        #"{"instance":7,"notices":[{"type":"focus","document":"a b","session":1,"focus":null}]}"#,
        #"{"instance":7,"notices":[{"type":"later-release"}]}"#,
    ])
    func noticesThatDoNotReadAreSkipped(payload: String) throws {
        let message = try #require(PresenceMessage(payload: Array(payload.utf8)))
        #expect(message.notices.isEmpty)
    }

    @Test func sessionIDsCarryTheInstanceAndStayExactInJavaScript() {
        let ids = SessionIDs(instance: SessionIDs.instanceLimit - 1)
        let id = ids.id(0xFFFF_FFFF)
        #expect(id.rawValue < 1 << 53)
        #expect(id.rawValue >> 32 == UInt64(SessionIDs.instanceLimit - 1))
        #expect(SessionIDs(instance: 0).id(3) == SessionID(rawValue: 3), "without a bus, ids are as before")
        #expect(SessionIDs(instance: 1).id(3) != SessionIDs(instance: 2).id(3))
    }
}

/// A presence bus in memory: the test plays the other instances.
final class MemoryPresenceBus: PresenceBus {
    let timeout = Duration.seconds(20)
    private let onEvent = Mutex<(@Sendable (PresenceBusEvent) -> Void)?>(nil)
    private let published = Mutex<[PresenceNotice]>([])

    var sent: [PresenceNotice] { published.withLock { $0 } }

    func join() -> UInt32 { 5 }
    func start(onEvent: @escaping @Sendable (PresenceBusEvent) -> Void) { self.onEvent.withLock { $0 = onEvent } }
    func publish(_ change: PresenceChange, on document: DocumentName) {
        published.withLock { $0.append(.change(document, change)) }
    }
    func requestRoster(from instance: UInt32) { published.withLock { $0.append(.rosterRequest(to: instance)) } }
    func shutdown() {}
    var metrics: PresenceBusMetrics { PresenceBusMetrics(up: true) }

    /// Another instance's message arrives.
    func deliver(_ message: PresenceMessage) { onEvent.withLock { $0 }?(.received(message)) }
}

@Suite struct PresenceAcrossInstancesTests {
    @Test func hellosSeeOtherInstancesSessionsAndPublishTheirOwn() async throws {
        let directory = TemporaryDirectory()
        let bus = MemoryPresenceBus()
        let engine = try await TodoEngine(
            configuration: .init(store: fileStore(directory), presenceBus: bus), logger: Logger(label: "test"))
        let bo = PresenceEntry(
            session: SessionID(rawValue: 9 << 32 | 1), name: "Bo", client: nil, since: 1, role: .viewer, focus: "/name")
        // Known before the document is open here: the document starts with it.
        bus.deliver(PresenceMessage(instance: 9, notices: [.rosterBegins, .change(.default, .joined(bo)), .rosterEnds]))

        let ana = CollectingOutput()
        let anaSession = engine.connect(document: .default, since: nil, role: .editor, client: nil, output: ana)
        #expect(anaSession.rawValue >> 32 == 5, "the session id carries the instance number")
        engine.send(#"{"type":"Hello","name":"Ana"}"#, from: anaSession)
        try await engine.settle()
        let roster = try #require(ana.drain().last)
        #expect(roster["sessions"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["Ana", "Bo"])
        #expect(bus.sent.count == 1)
        guard case .change(.default, .joined(let published))? = bus.sent.first else {
            Issue.record("Hello is published: \(bus.sent)")
            return
        }
        #expect(published.session == anaSession && published.name == "Ana")

        bus.deliver(PresenceMessage(instance: 9, notices: [.change(.default, .focused(bo.session, "/todos/2"))]))
        bus.deliver(PresenceMessage(instance: 9, notices: [.change(.default, .left(bo.session))]))
        try await engine.settle()
        #expect(types(ana.drain()) == ["PresenceFocus", "PresenceLeave"])

        engine.disconnect(anaSession)
        try await engine.settle()
        #expect(bus.sent.last == .change(.default, .left(anaSession)))
        await engine.shutdown()
    }
}
