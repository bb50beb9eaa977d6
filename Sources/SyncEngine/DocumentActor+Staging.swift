import JSONCodec
import JSONPatch
import JSONValueCoding
import Logging
import SyncProtocol

/// A change staged in a batch: the new JSON, its event, its Patch and the document limits.
extension DocumentActor {
    /// Brings `stateJSON` up to `state`, just changed by `action` (nil for a revert). When the
    /// JSON differs, adds the event (recording `source`), its log line and its Patch to the batch.
    /// Returns the version after the change. On a throw, `state` is ahead of `stateJSON`: see `resetState(to:)`.
    ///
    /// `action` lets the model derive the new JSON from the current one.
    func stage(
        after action: Model.Action?, actionJSON: JSONValue, source: ActionSource?, into batch: inout Batch
    ) throws(ActionRejected) -> UInt64 {
        let newJSON: JSONValue
        do {
            if let action, stateJSONIsBuilt {
                newJSON = try Model.jsonValue(of: state, updating: stateJSON, after: action)
                assert(
                    Self.isFullBuild(newJSON, of: state),
                    "\(Model.self).jsonValue(of:updating:after:) differs from jsonValue(of:) after \(action)")
            } else {
                newJSON = try Model.jsonValue(of: state)
            }
        } catch {
            throw ActionRejected(.internalError, "the new state cannot be encoded: \(error)")
        }
        return try stage(json: newJSON, actionJSON: actionJSON, source: source, into: &batch)
    }

    /// As `stage(after:...)`, with `newJSON` the JSON the model builds for `state`.
    func stage(json newJSON: JSONValue, actionJSON: JSONValue, source: ActionSource?, into batch: inout Batch)
        throws(ActionRejected) -> UInt64
    {
        let patch: JSONPatch
        do {
            patch = try JSONPatch.diff(from: stateJSON, to: newJSON)
        } catch {
            throw ActionRejected(.internalError, "the change cannot be diffed: \(error)")
        }
        if patch.isEmpty {
            // Equal in value, but `state` has changed in place: keep the JSON the model built for it.
            stateJSON = newJSON
            stateJSONIsBuilt = true
            return version
        }
        let (newSize, grown) = stateSize.updated(by: patch, from: stateJSON, to: newJSON)
        try checkLimits(newSize, grown: grown)

        let event = DocumentEvent(
            version: version + 1, time: WallClock.milliseconds(), schema: kind.schemaVersion,
            model: kind.isDeclared ? kind.modelName : nil, client: source?.client,
            actionID: source?.id, digest: source?.digest, name: source?.name, author: source?.author,
            action: actionJSON, ops: patch)
        let encoded: [UInt8]
        let message: OutboundMessage
        do {
            encoded = try event.encodedLine()
            message = try ServerMessage.patch(patch, version: event.version)
        } catch {
            throw ActionRejected(.internalError, "the change cannot be encoded: \(error)")
        }
        if batch.rollback == nil { batch.rollback = (stateJSON, stateJSONIsBuilt, stateSize, version) }
        stateJSON = newJSON
        stateSize = newSize
        stateJSONIsBuilt = true
        version = event.version
        batch.events.append(event)
        batch.encodedEvents.append(encoded)
        batch.patches.append(message)
        batch.outputs.append(.broadcast(message))
        return version
    }

    /// Refuses a change that makes the document larger than `DocumentLimits` allow. A document
    /// already over a limit (written under a larger one) may still shrink.
    func checkLimits(_ newSize: StateSize, grown: Int) throws(ActionRejected) {
        let limits = context.limits
        if newSize.bytes > limits.maximumDocumentBytes && newSize.bytes > stateSize.bytes {
            throw ActionRejected(
                .documentTooLarge,
                "the document would grow to about \(newSize.bytes) bytes, over the limit of \(limits.maximumDocumentBytes)")
        }
        if grown > limits.maximumMembers {
            throw ActionRejected(
                .tooManyMembers,
                "an object or array of the document (such as the list's rows) would hold \(grown) members, over the limit of \(limits.maximumMembers)")
        }
    }

    /// Makes `state` the model state of `json` again after a change to it was not kept, by
    /// decoding, as start-up does. Costs a decode of the whole document, but only on failures.
    func resetState(to json: JSONValue) {
        do {
            state = try kind.decode(json)
            stateIsCurrent = true
        } catch {
            stateIsCurrent = false
            // Cannot happen for a model that decodes its own JSON (start-up relies on it). If it
            // does, the next change is diffed against the JSON in full, so that clients and log
            // still agree with the state.
            stateJSONIsBuilt = false
            logger.error(
                "Cannot decode the document's JSON back into its state",
                metadata: ["document": "\(name)", "error": "\(error)"])
        }
    }

    /// Whether `json` is byte for byte what `jsonValue(of:)` gives for `state`: the model's
    /// contract for deriving JSON, checked in debug builds.
    static func isFullBuild(_ json: JSONValue, of state: Model.State) -> Bool {
        guard let full = try? Model.jsonValue(of: state) else { return false }
        return (try? JSONCodec.encode(json)) == (try? JSONCodec.encode(full))
    }
}
