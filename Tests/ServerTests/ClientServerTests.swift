import JSONPatch
import SyncClient
import Testing

/// SyncClient against the real server, over real sockets.
@Suite struct ClientServerTests {
    @Test func aNewDocumentStartsEmptyAtVersionZero() async throws {
        try await withServer { server in
            let client = try await server.connectedClient()
            #expect(client.state == ["name": "", "todos": [:]])
            #expect(client.version == 0)
            await client.close()
        }
    }

    @Test func clientsConvergeAfterEveryActionType() async throws {
        try await withServer { server in
            let writer = try await server.connectedClient()
            let others = [try await server.connectedClient(), try await server.connectedClient()]
            let steps: [(action: JSONValue, expected: JSONValue)] = [
                (["type": "Add", "row": row("milk")], ["name": "", "todos": ["1": row("milk")]]),
                (["type": "Add", "row": row("eggs", completed: true)],
                 ["name": "", "todos": ["1": row("milk"), "2": row("eggs", completed: true)]]),
                (["type": "ChangeName", "name": "Groceries"],
                 ["name": "Groceries", "todos": ["1": row("milk"), "2": row("eggs", completed: true)]]),
                (["type": "Update", "index": 1, "row": row("oat milk", completed: true)],
                 ["name": "Groceries", "todos": ["1": row("oat milk", completed: true), "2": row("eggs", completed: true)]]),
                (["type": "Update", "index": 7, "row": row("bread")],
                 ["name": "Groceries",
                  "todos": ["1": row("oat milk", completed: true), "2": row("eggs", completed: true), "7": row("bread")]]),
                (["type": "Remove", "index": 2],
                 ["name": "Groceries", "todos": ["1": row("oat milk", completed: true), "7": row("bread")]]),
                (["type": "RemoveCompleted"], ["name": "Groceries", "todos": ["7": row("bread")]]),
                (["type": "Add", "row": row("jam")], ["name": "Groceries", "todos": ["7": row("bread"), "8": row("jam")]]),
            ]
            for (number, step) in steps.enumerated() {
                let reply = try await writer.send(action: step.action)
                let version = UInt64(number + 1)
                #expect(reply.outcome == .ack(version: version), "step \(number): \(step.action)")
                // The Ack follows the Patch, so the writer's own mirror already shows the change.
                #expect(writer.state == step.expected, "step \(number): \(step.action)")
                for other in others {
                    #expect(try await other.waitForVersion(version) == step.expected, "step \(number)")
                }
            }
            for client in [writer] + others { await client.close() }
        }
    }

    @Test func actionsFromSeveralClientsInterleaveAndConverge() async throws {
        try await withServer { server in
            let clients = [
                try await server.connectedClient(), try await server.connectedClient(), try await server.connectedClient(),
            ]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (number, client) in clients.enumerated() {
                    group.addTask {
                        for item in 0..<10 {
                            let reply = try await client.send(action: ["type": "Add", "row": row("c\(number)-\(item)")])
                            #expect(reply.isAck)
                        }
                    }
                }
                try await group.waitForAll()
            }
            var states: [JSONValue] = []
            for client in clients { states.append(try await client.waitForVersion(30)) }
            #expect(states.allSatisfy { $0 == states[0] })
            #expect(states[0]["todos"]?.objectValue?.count == 30)
            let fresh = try await server.connectedClient()
            #expect(fresh.state == states[0])
            #expect(fresh.version == 30)
            for client in clients + [fresh] { await client.close() }
        }
    }

    /// Every message to a compressing session goes out compressed, once for all of them; lws's
    /// own client stopped reading at the first one sent uncompressed.
    @Test(.timeLimit(.minutes(1)))
    func clientsOfferingCompressionGetTheFullTheirAcksAndOthersPatches() async throws {
        try await withServer { server in
            let compressing = [
                try await server.connectedClient(offersCompression: true),
                try await server.connectedClient(offersCompression: true),
            ]
            let plain = try await server.connectedClient()
            #expect(try await compressing[0].send(action: ["type": "ChangeName", "name": "Line 3"]).isAck)
            let long = String(repeating: "check the hydraulic pressure ", count: 20)
            #expect(try await plain.send(action: ["type": "Add", "row": row(long)]).isAck)
            for client in compressing {
                #expect(try await client.waitForVersion(2) == ["name": "Line 3", "todos": ["1": row(long)]])
                await client.close()
            }
            await plain.close()
        }
    }

    @Test func anActionThatChangesNothingIsAckedWithTheCurrentVersion() async throws {
        try await withServer { server in
            let client = try await server.connectedClient()
            #expect(try await client.send(action: ["type": "ChangeName", "name": "Tools"]).outcome == .ack(version: 1))
            #expect(try await client.send(action: ["type": "ChangeName", "name": "Tools"]).outcome == .ack(version: 1))
            #expect(try await client.send(action: ["type": "Remove", "index": 42]).outcome == .ack(version: 1))
            #expect(client.version == 1)
            await client.close()
        }
    }

    static let invalidActions: [(action: JSONValue, code: String)] = [
        (["type": "Launch"], "unknown_type"),
        (["name": "no type"], "unknown_type"),
        (["type": "Add"], "invalid_action"),
        (["type": "Add", "row": ["name": 5, "completed": false]], "invalid_action"),
        (["type": "ChangeName", "name": true], "invalid_action"),
        (["type": "Remove", "index": -1], "invalid_index"),
        (["type": "Update", "index": 1.5, "row": ["name": "x", "completed": false]], "invalid_index"),
    ]

    @Test(arguments: invalidActions)
    func anInvalidActionGetsAnErrorWithItsCodeAndChangesNothing(action: JSONValue, code: String) async throws {
        try await withServer { server in
            let client = try await server.connectedClient()
            let reply = try await client.send(action: action)
            guard case .error(let replyCode, let message) = reply.outcome else {
                Issue.record("expected an Error, got \(reply.message)")
                return
            }
            #expect(replyCode == code)
            #expect(!message.isEmpty)
            #expect(reply.message["id"] != nil)
            // The connection stays open and the state is untouched.
            #expect(try await client.send(action: ["type": "Add", "row": row("after")]).outcome == .ack(version: 1))
            #expect(client.state == ["name": "", "todos": ["1": row("after")]])
            await client.close()
        }
    }

    @Test func aViewersMirrorEqualsAFreshClientsFull() async throws {
        try await withServer { server in
            let viewer = try await server.connectedClient()
            let writer = try await server.connectedClient()
            var lastVersion: UInt64 = 0
            for item in 0..<25 {
                let action: JSONValue =
                    switch item % 5 {
                    case 0, 1: ["type": "Add", "row": row("item \(item)", completed: item % 2 == 0)]
                    case 2: ["type": "Update", "index": .integer(Int64(item % 4 + 1)), "row": row("updated \(item)")]
                    case 3: ["type": "RemoveCompleted"]
                    default: ["type": "ChangeName", "name": .string("list \(item)")]
                    }
                if case .ack(let version?) = try await writer.send(action: action).outcome { lastVersion = version }
            }
            let mirrored = try await viewer.waitForVersion(lastVersion)
            let fresh = try await server.connectedClient()
            #expect(fresh.version == lastVersion)
            #expect(mirrored == fresh.state)
            #expect(viewer.version == fresh.version)
            for client in [viewer, writer, fresh] { await client.close() }
        }
    }

    @Test func theMessageStreamShowsTheFullThenOnePatchPerChange() async throws {
        try await withServer { server in
            let viewer = try SyncClient(configuration: .init(url: server.url), logger: server.logger)
            let messages = viewer.messages()
            try await viewer.connect()
            let writer = try await server.connectedClient()
            _ = try await writer.send(action: ["type": "Add", "row": row("milk")])
            _ = try await writer.send(action: ["type": "ChangeName", "name": "Shop"])
            var received: [JSONValue] = []
            for await message in messages {
                received.append(message)
                if received.count == 3 { break }
            }
            #expect(received.map { $0["type"] } == ["Full", "Patch", "Patch"])
            #expect(received.map { $0["version"] } == [0, 1, 2])
            // Viewers that sent nothing get no Acks.
            #expect(received.allSatisfy { $0["id"] == nil })
            await writer.close()
            await viewer.close()
        }
    }

    @Test func aClientSeesTheServerShutDownWithGoingAway() async throws {
        let fixture = try await ServerFixture()
        let client = try await fixture.connectedClient()
        await fixture.stop()
        let end = await client.waitUntilClosed()
        #expect(end == .closed(code: 1001, reason: end.closeReason))
        await #expect(throws: SyncClientError.self) {
            _ = try await client.send(action: ["type": "RemoveCompleted"])
        }
        await client.close()
    }

    @Test func usingAClientBeforeConnectingOrAfterClosingFailsWithNotConnected() async throws {
        try await withServer { server in
            let client = try SyncClient(configuration: .init(url: server.url), logger: server.logger)
            await #expect(throws: SyncClientError.notConnected) {
                _ = try await client.send(action: ["type": "RemoveCompleted"])
            }
            try await client.connect()
            await client.close()
            #expect(client.closeError == .closed(code: 1000, reason: "client closed"))
            await #expect(throws: SyncClientError.notConnected) {
                _ = try await client.send(action: ["type": "RemoveCompleted"])
            }
            await #expect(throws: SyncClientError.notConnected) { try await client.connect() }
        }
    }

    @Test func anActionThatIsNotAnObjectIsRefusedBeforeSending() async throws {
        try await withServer { server in
            let client = try await server.connectedClient()
            await #expect(throws: SyncClientError.invalidAction(reason: "an action must be a JSON object, not array")) {
                _ = try await client.send(action: ["Add"])
            }
            await client.close()
        }
    }

    @Test func connectingWhereNothingListensFailsWithConnectionFailed() async throws {
        // A port that was free a moment ago: bind, read it, close.
        let fixture = try await ServerFixture()
        let url = fixture.url
        await fixture.stop()
        let client = try SyncClient(configuration: .init(url: url), logger: fixture.logger)
        await #expect {
            try await client.connect()
        } throws: { error in
            if case .connectionFailed = error as? SyncClientError { return true }
            return false
        }
        await client.close()
    }
}

extension SyncClientError {
    /// The reason of a `closed` error, for comparisons that only care about the code.
    var closeReason: String {
        if case .closed(_, let reason) = self { return reason }
        return ""
    }
}
