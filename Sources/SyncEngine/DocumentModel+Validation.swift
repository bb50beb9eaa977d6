import JSONCodec
import JSONPatch
import JSONValueCoding

extension DocumentModel {
    /// `json` as a state of this model, and that state's JSON as the model builds it, when the two
    /// are the same JSON (member order aside). Otherwise `invalid_patch`, naming the JSON Pointer
    /// of the first difference and why: a wrong type, a missing member, or a member the model
    /// does not have.
    static func validatedState(from json: JSONValue) throws(ActionRejected) -> (state: State, json: JSONValue) {
        let state: State
        do {
            state = try JSONValueDecoder().decode(State.self, from: json)
        } catch let error as JSONValueCodingError {
            let place = error.pointer.map { $0.tokens.isEmpty ? "the document" : "\($0)" } ?? error.path
            throw ActionRejected(.invalidPatch, "\(place): \(error.message)")
        } catch let rejected as ActionRejected {
            throw ActionRejected(.invalidPatch, rejected.message)
        } catch {
            throw ActionRejected(.invalidPatch, "the result is not a valid state: \(error)")
        }
        let rebuilt: JSONValue
        do {
            rebuilt = try jsonValue(of: state)
        } catch {
            throw ActionRejected(.internalError, "the new state cannot be encoded: \(error)")
        }
        guard rebuilt != json else { return (state, rebuilt) }
        let difference = (try? JSONPatch.diff(from: json, to: rebuilt))?.operations.first
        switch difference {
        case .remove(let path)?:
            throw ActionRejected(.invalidPatch, "\(path): a member the model does not have")
        case .add(let path, _)?:
            throw ActionRejected(.invalidPatch, "\(path): missing, and the model would add it")
        case let operation?:
            throw ActionRejected(.invalidPatch, "\(operation.path): the model does not keep this value as written")
        case nil:
            throw ActionRejected(.invalidPatch, "the result does not encode back to the same JSON")
        }
    }
}
