import FuzzSupport
import JSONCodec
import JSONPatch
@testable import SyncEngine
import SyncProtocol
import TodoModel

/// A list with rows at 1, 2 and 7 (one completed), as actions find it.
let initialState = TodoState(
    name: "groceries",
    todos: [1: TodoRow(name: "milk", completed: false), 2: TodoRow(name: "eggs", completed: true), 7: TodoRow(name: "tea", completed: false)])

/// Any bytes as a client's text message to a Todo document, taking the path the engine takes:
/// never a crash; a refusal is an `Error` message the client can read; an accepted action has
/// a log form, reduces (or is refused with a code), and the model's incremental JSON equals its
/// full JSON.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let envelope: ClientEnvelope
    do throws(ClientMessageError) {
        envelope = try ClientMessageParser.envelope(.text(bytes), limits: DocumentLimits())
    } catch {
        expectReadableError(id: error.id, code: error.code, message: error.message)
        return 0
    }
    // The typed message (SyncProtocol) encodes back to text that reads as the same message.
    if let typed = try? ClientMessage(envelope) {
        let text = try? typed.encoded(id: envelope.id)
        let again = text.flatMap { try? ClientMessage(text: $0, limits: ClientMessageLimits(maximumDepth: 64, maximumStringBytes: 1 << 20)) }
        expect(again == typed, "\(typed) does not survive encoding and decoding")
    }
    // Presence messages and raw patches are read by their own parsers, as the engine does.
    do throws(ActionRejected) {
        if try PresenceRequest(envelope) != nil { return 0 }
        if envelope.type == "Patch" {
            _ = try RawPatch(envelope)
            return 0
        }
    } catch {
        expectReadableError(id: envelope.id, code: error.code, message: error.message)
        return 0
    }
    let parsed: DecodedAction<TodoAction>
    do throws(ClientMessageError) {
        parsed = try ClientMessageParser.action(envelope, as: TodoAction.self)
    } catch {
        expectReadableError(id: error.id, code: error.code, message: error.message)
        return 0
    }
    expect((try? JSONCodec.encode(parsed.json)) != nil, "the accepted action has no log form")
    var state = initialState
    do {
        try TodoList.reduce(&state, parsed.action)
    } catch {
        expect(state == initialState, "a refused action changed the state")
        expectReadableError(id: envelope.id, code: error.code, message: error.message)
        return 0
    }
    let previous = TodoList.jsonValue(of: initialState)
    let incremental = TodoList.jsonValue(of: state, updating: previous, after: parsed.action)
    let full = TodoList.jsonValue(of: state)
    expect(
        try! JSONCodec.encode(incremental) == JSONCodec.encode(full),
        "incremental JSON differs from the full JSON after \(parsed.action)")
    expect((try? JSONPatch.diff(from: previous, to: full).apply(to: previous)) == full, "the action's patch does not apply")
    if let id = envelope.id {
        let ack = try? JSONCodec.decode(ServerMessage.ack(id: id, version: 1).bytes)
        expect(ack?["type"] == "Ack" && ack?["id"] == id, "the Ack does not echo the id")
    }
    return 0
}

/// The Error message the client would get: JSON with the code and a message, echoing the id.
func expectReadableError(id: JSONValue?, code: SyncErrorCode, message: String) {
    expect(!message.isEmpty, "\(code) refusal without a message")
    let reply = try? JSONCodec.decode(ServerMessage.error(id: id, code: code, message: message).bytes)
    expect(reply?["type"] == "Error" && reply?["code"] == .string(code.rawValue), "the Error message does not encode")
    expect(reply?["id"] == id, "the Error message does not echo the id")
}
