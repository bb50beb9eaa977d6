import JSONPatch
import SyncProtocol

/// Raw JSON Patch writes, rebased and checked against the model.
extension DocumentActor {
    /// A raw JSON Patch, rebased onto what changed after its `base` and checked against the model.
    func applyRawPatch(_ envelope: ClientEnvelope, source: ActionSource, into batch: inout Batch)
        -> Result<Change, ActionRejected>
    {
        let before = version
        let request: RawPatch
        let validated: (state: Model.State, json: JSONValue)
        do throws(ActionRejected) {
            request = try RawPatch(envelope)
            if let base = request.base, base != version {
                guard base < version else {
                    throw ActionRejected(
                        .invalidPatch, "base: version \(base) is newer than the current version \(version)")
                }
                guard let changes = changes(after: base, pending: batch) else {
                    throw ActionRejected(
                        .conflict,
                        "base: version \(base) is older than the events kept in memory, which start after version "
                            + "\(recent.oldestVersion); read the state again", version: version)
                }
                if let path = request.firstConflict(with: changes, in: stateJSON) {
                    let place = path.tokens.isEmpty ? "\"\" (the whole document)" : "\(path)"
                    throw ActionRejected(.conflict, "\(place) changed after version \(base)", version: version)
                }
            }
            let result: JSONValue
            do {
                result = try request.patch.apply(to: stateJSON)
            } catch {
                throw ActionRejected(error.kind == .testFailed ? .testFailed : .invalidPatch, "\(error)")
            }
            // Whole-document validation until one write has proved the state valid (a state read
            // from the store may predate a stricter schema); then only what the patch changed.
            validated =
                try stateIsValidated ? kind.validatedChange(result, request.patch) : kind.validatedState(result)
            try Model.checkPatched(validated.state, previous: state)
        } catch {
            return .failure(error)
        }
        state = validated.state
        stateIsValidated = true
        do {
            let after = try stage(json: validated.json, actionJSON: request.actionJSON, source: source, into: &batch)
            return .success(Change(version: after, isLogged: after != before))
        } catch {
            resetState(to: stateJSON)
            return .failure(error)
        }
    }

    /// The patches applied after `base`, committed or in `batch`; nil when the events kept in
    /// memory do not reach back to `base`.
    func changes(after base: UInt64, pending batch: Batch) -> [JSONPatch]? {
        let pending = batch.events.lazy.filter { $0.version > base }.map(\.ops)
        if base >= recent.latestVersion { return Array(pending) }
        guard let committed = recent.events(after: base) else { return nil }
        return committed.map(\.ops) + pending
    }
}
