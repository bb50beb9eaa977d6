import JSONPatch
import SyncProtocol

/// A client's raw RFC 6902 write: `{"type":"Patch","ops":[...],"base":V,"id":...}`.
///
/// `base` is the version the client saw. The ops apply to the current state as they are
/// (rebased) when nothing they touch changed after `base`; otherwise the write is a `conflict`.
struct RawPatch {
    let patch: JSONPatch
    let base: UInt64?

    /// Read by `SyncProtocol.ClientMessage`, which bounds the operations and checks `base`.
    init(_ envelope: ClientEnvelope) throws(ActionRejected) {
        do throws(ClientMessageError) {
            guard case .patch(let ops, let base) = try ClientMessage(envelope) else {
                throw ClientMessageError(id: envelope.id, code: .invalidPatch, message: "expected a Patch message")
            }
            patch = ops
            self.base = base
        } catch {
            throw ActionRejected(error.code, error.message)
        }
    }

    /// The write as the log keeps it: the operations parsed and encoded again, and the base, so
    /// that members the engine did not read never reach the log.
    var actionJSON: JSONValue {
        var object: JSONObject = ["type": "Patch", "ops": patch.jsonValue]
        if let base { object["base"] = .integer(Int64(clamping: base)) }
        return .object(object)
    }

    /// The first place the patch touches that `changes` (the patches applied after its `base`)
    /// touched too, or nil when it can be rebased onto them. Places overlap when one contains the
    /// other. A change that inserts into or removes from an array shifts the indices after it,
    /// so it counts as touching the whole array; `state` (the current one) tells arrays apart.
    func firstConflict(with changes: [JSONPatch], in state: JSONValue) -> JSONPointer? {
        var changed: [JSONPointer] = []
        for change in changes {
            for operation in change.operations {
                changed.append(contentsOf: Self.touched(by: operation).map { Self.widened($0, for: operation, in: state) })
            }
        }
        for operation in patch.operations {
            for path in Self.touched(by: operation) {
                if changed.contains(where: { path.hasPrefix($0) || $0.hasPrefix(path) }) { return path }
            }
        }
        return nil
    }

    private static func touched(by operation: PatchOperation) -> [JSONPointer] {
        switch operation {
        case .move(let from, let path), .copy(let from, let path): [from, path]
        default: [operation.path]
        }
    }

    /// The array holding `path` when `operation` inserts or removes there, else `path`.
    private static func widened(_ path: JSONPointer, for operation: PatchOperation, in state: JSONValue) -> JSONPointer {
        switch operation {
        case .add, .remove, .move: break
        case .replace, .copy, .test: return path
        }
        guard !path.tokens.isEmpty else { return path }
        let parent = JSONPointer(tokens: Array(path.tokens.dropLast()))
        if case .array? = try? state.value(at: parent) { return parent }
        return path
    }
}
