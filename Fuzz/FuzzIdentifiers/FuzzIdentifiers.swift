import FuzzSupport
import JSONCodec
import JSONPatch
import SyncProtocol
@testable import SyncEngine
@testable import SyncServer

/// The rules of issue 19 that read untrusted text, against their specifications: document names
/// and client ids (1 to 64 of `[A-Za-z0-9_-]`, whole or refused), request targets as lws leaves
/// them, JSON media types, presence names (bytes before characters), action ids (at most 128
/// bytes), and the outcome memory's byte bound under any sequence of records, forgets and expiries.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    switch input.choice(below: 6) {
    case 0: identifiers(&input)
    case 1: requestTarget(&input)
    case 2: mediaType(&input)
    case 3: presenceName(&input)
    case 4: actionID(&input)
    default: outcomeMemory(&input)
    }
    return 0
}

private func isIdentifierText(_ text: String) -> Bool {
    (1...64).contains(text.utf8.count)
        && text.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == 0x2D || byte == 0x5F
        }
}

private func identifiers(_ input: inout FuzzInput) {
    let pieces = ["a", "Z", "9", "-", "_", ".", "/", "%", "\0", " ", ";", "é", input.text(maximumLength: 4)]
    let text = (0..<input.choice(below: 70)).map { _ in input.element(of: pieces) }.joined()
    expect((DocumentName(text) != nil) == isIdentifierText(text), "document name '\(text)'")
    expect((ClientID(text) != nil) == isIdentifierText(text), "client id '\(text)'")
    switch WebSocketRoute.document(forPath: "/ws/" + text) {
    case .success(let name):
        expect(name.rawValue == text || name.rawValue + "/" == text, "/ws/\(text) opened \(name)")
    case .failure:
        expect(!isIdentifierText(text) && !(text.hasSuffix("/") && isIdentifierText(String(text.dropLast()))),
            "/ws/\(text) refused")
    }
    switch WebSocketRoute.client(text) {
    case .success(let client): expect(client?.rawValue == text, "client=\(text) read as \(String(describing: client))")
    case .failure: expect(!isIdentifierText(text), "client=\(text) refused")
    }
}

private func requestTarget(_ input: inout FuzzInput) {
    let version = input.element(of: ["HTTP/1.1", "HTTP/1.0", "b HTTP/1.1", "", "HTTP/2", input.text(maximumLength: 10)])
    let fragments = (0..<input.choice(below: 5)).map { _ in
        input.element(of: ["client=a", "client=b", "since=1", "b", "", "=", "token=x=y", input.text(maximumLength: 12)])
    }
    let verdict = RequestTarget.check(httpVersion: input.bool() ? version : nil, queryFragments: fragments)
    if verdict == nil {
        expect(version == "HTTP/1.1" || version == "HTTP/1.0", "version '\(version)' accepted")
        let pieces = fragments.filter { !$0.isEmpty }
        let names = pieces.map { $0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0] }
        expect(pieces.allSatisfy { $0.contains("=") } && Set(names).count == names.count, "\(fragments) accepted")
    } else {
        expect(!(verdict?.description.contains("\n") ?? true), "a refusal on two lines")
    }
}

private func mediaType(_ input: inout FuzzInput) {
    let pieces = ["application/json", "APPLICATION/JSON", " ", ";", "charset=utf-8", "text/plain", "x", "\t"]
    let text = (0..<input.choice(below: 5)).map { _ in input.element(of: pieces) }.joined()
    if JSONMediaType.matches(text) {
        let essence = text.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        expect(essence.filter { $0 != " " && $0 != "\t" }.lowercased() == "application/json", "'\(text)' taken as JSON")
    }
}

private func presenceName(_ input: inout FuzzInput) {
    let pieces = ["a", " ", "é", "\u{301}", "\u{308}", "😀", "\u{200D}", "漢", "\u{1F3FD}", input.text(maximumLength: 6)]
    let name = (0..<input.choice(below: 256) + input.choice(below: 2) * 200).map { _ in input.element(of: pieces) }.joined()
    if PresenceName.refusal(of: name) == nil {
        expect(name.utf8.count <= PresenceName.maximumBytes, "a name of \(name.utf8.count) bytes accepted")
        expect(name.count <= PresenceName.maximumCharacters, "a name of \(name.count) characters accepted")
    } else if name.utf8.count > PresenceName.maximumBytes {
        expect(PresenceName.refusal(of: name)?.contains("bytes") == true, "refused for something else than its bytes")
    }
}

private func actionID(_ input: inout FuzzInput) {
    let id = String(repeating: input.element(of: ["x", "é", "😀"]), count: input.choice(below: 200))
    let message = JSONValue.object(["type": "Add", "id": .string(id)])
    guard let bytes = try? JSONCodec.encode(message) else { return }
    do {
        let envelope = try ClientMessageParser.envelope(.text(bytes), limits: DocumentLimits())
        expect(id.utf8.count <= ClientEnvelope.maximumIDBytes, "an id of \(id.utf8.count) bytes accepted")
        expect(envelope.id == .string(id), "the id changed")
    } catch {
        expect(id.utf8.count > ClientEnvelope.maximumIDBytes, "an id of \(id.utf8.count) bytes refused")
        expect(error.id == nil, "an overlong id echoed")
    }
}

private func outcomeMemory(_ input: inout FuzzInput) {
    let client = ClientID("c")!
    var outcomes = ActionOutcomes(maximumBytes: 200 + input.choice(below: 200) * 20)
    var time: Int64 = 0
    let reply = ServerMessage.error(id: nil, code: .invalidAction, message: "no", version: nil)
    var version: UInt64 = 0
    while !input.isExhausted {
        let key = ActionKey(client: client, id: .string(String(repeating: "k", count: input.choice(below: 64))))
        time += Int64(input.choice(below: 100)) * 10_000
        switch input.choice(below: 4) {
        case 0:
            version += 1
            outcomes.recordLogged(key, digest: ActionDigest(.integer(1)), version: version, time: time)
        case 1:
            outcomes.recordTransient(key, digest: ActionDigest(.integer(2)), outcome: .rejected(reply), time: time)
        case 2:
            outcomes.forget([key])
        default:
            outcomes.expire(now: time, retainedAfter: version)
        }
        expect(outcomes.bytes >= 0 && outcomes.bytes <= outcomes.maximumBytes, "\(outcomes.bytes) bytes held")
        expect((outcomes.count == 0) == (outcomes.bytes == 0), "\(outcomes.count) entries for \(outcomes.bytes) bytes")
    }
    outcomes.expire(now: time + ActionOutcomes.lifetime + 1, retainedAfter: .max)
    expect(outcomes.count == 0 && outcomes.bytes == 0, "\(outcomes.bytes) bytes left after every outcome expired")
}
