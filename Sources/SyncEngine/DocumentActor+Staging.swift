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
        if let action, stateJSONIsBuilt {
            // A statement of its own: no temporary holding `stateJSON` may live on into the edit.
            let change = Model.memberChange(of: state, in: stateJSON, after: action)
            if let change, let staged = try stage(change, actionJSON: actionJSON, source: source, into: &batch) {
                return staged
            }
        }
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
            // Equal in value, but `state` has changed in place: keep the JSON the model built for it
            // (whose text may differ: member order, 1 for 1.0).
            stateJSON = newJSON
            stateJSONIsBuilt = true
            fullMessages.removeAll()
            return version
        }
        let (newSize, grown) = stateSize.updated(by: patch, from: stateJSON, to: newJSON)
        try checkLimits(newSize, grown: grown)

        let event = makeEvent(actionJSON: actionJSON, source: source, ops: patch)
        let encoded: [UInt8]
        let message: OutboundMessage
        do {
            encoded = try event.encodedLine()
            message = try ServerMessage.patch(patch, version: event.version)
        } catch {
            throw ActionRejected(.internalError, "the change cannot be encoded: \(error)")
        }
        if batch.rollback == nil { batch.rollback = ([], stateJSONIsBuilt, stateSize, version) }
        batch.rollback?.undo.append(.json(stateJSON))
        batch.changedMembers = nil
        stateJSON = newJSON
        stateSize = newSize
        stateJSONIsBuilt = true
        append(event, encoded, message, to: &batch)
        return version
    }

    /// As `stage(after:...)` for an action that changed one member (`change`), which is set in
    /// `stateJSON` in place: nothing of the document is copied, and only that member is diffed.
    /// Nil, changing nothing, when `change.object` is not an object of `stateJSON`.
    private func stage(_ change: MemberChange, actionJSON: JSONValue, source: ActionSource?, into batch: inout Batch)
        throws(ActionRejected) -> UInt64?
    {
        // Read in a function of its own, so that no reference to the object outlives the read
        // (one would make the edit below copy it).
        guard let (old, oldCount, position) = member(change) else { return nil }
        let pointer = change.pointer
        let patch: JSONPatch
        do {
            patch = try JSONPatch.diff(ofMember: old, to: change.value, at: pointer)
        } catch {
            throw ActionRejected(.internalError, "the change cannot be diffed: \(error)")
        }
        #if DEBUG
            let previous = stateJSON
        #endif
        let undo = MemberChange(object: change.object, key: change.key, value: old)
        let isSet = stateJSON.setMember(at: change.object[...], change.key, to: change.value)
        assert(isSet, "the object of \(pointer) was found, then not")
        #if DEBUG
            assert(
                (try? JSONPatch.diff(from: previous, to: stateJSON)) == patch,
                "\(Model.self).memberChange(of:in:after:) gives another patch than the diff: \(patch)")
            assert(
                Self.isFullBuild(stateJSON, of: state),
                "\(Model.self).memberChange(of:in:after:) differs from jsonValue(of:) at \(pointer)")
        #endif
        if patch.isEmpty {
            // Equal in value, as the JSON the model built for `state` (set all the same).
            batch.rollback?.undo.append(.member(undo, position: position))
            stateJSONIsBuilt = true
            fullMessages.removeAll()
            return version
        }
        let event: DocumentEvent
        let encoded: [UInt8]
        let message: OutboundMessage
        let newSize: StateSize
        do throws(ActionRejected) {
            let grown: Int
            (newSize, grown) = stateSize.updated(
                by: patch, settingMember: change, from: old, oldCount: oldCount, in: stateJSON)
            try checkLimits(newSize, grown: grown)
            event = makeEvent(actionJSON: actionJSON, source: source, ops: patch)
            do {
                encoded = try event.encodedLine()
                message = try ServerMessage.patch(patch, version: event.version)
            } catch {
                throw ActionRejected(.internalError, "the change cannot be encoded: \(error)")
            }
        } catch {
            self.undo(.member(undo, position: position))
            throw error
        }
        if batch.rollback == nil { batch.rollback = ([], stateJSONIsBuilt, stateSize, version) }
        batch.rollback?.undo.append(.member(undo, position: position))
        batch.changedMembers?.append(change)
        stateSize = newSize
        stateJSONIsBuilt = true
        append(event, encoded, message, to: &batch)
        return version
    }

    /// The member `change` names as it is now, the count of its object and, when the change
    /// removes it, its place there; nil when `change.object` is not an object of `stateJSON`.
    private func member(_ change: MemberChange) -> (value: JSONValue?, objectCount: Int, position: Int?)? {
        guard let object = stateJSON.object(at: change.object[...]) else { return nil }
        let value = object[change.key]
        let position = value != nil && change.value == nil ? object.keys.firstIndex(of: change.key) : nil
        return (value, object.count, position)
    }

    private func makeEvent(actionJSON: JSONValue, source: ActionSource?, ops patch: JSONPatch) -> DocumentEvent {
        DocumentEvent(
            version: version + 1, time: WallClock.milliseconds(), schema: kind.schemaVersion,
            model: kind.isDeclared ? kind.modelName : nil, client: source?.client,
            actionID: source?.id, digest: source?.digest, name: source?.name, author: source?.author,
            action: actionJSON, ops: patch)
    }

    /// Moves `version` on to the staged event's and adds it, its log line and its Patch to `batch`.
    private func append(_ event: DocumentEvent, _ encoded: [UInt8], _ message: OutboundMessage, to batch: inout Batch) {
        version = event.version
        batch.events.append(event)
        batch.encodedEvents.append(encoded)
        batch.patches.append(message)
        batch.outputs.append(.broadcast(message))
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
