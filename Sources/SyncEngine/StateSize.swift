import JSONPatch

/// A state's size as `DocumentLimits` counts it: its estimated JSON text length and its
/// largest object or array. Kept up to date after each change by looking only at what the
/// change touched, so a large document costs what its changes cost.
struct StateSize: Hashable {
    var bytes: Int
    var largestContainer: Int

    /// Walks the whole value.
    init(of value: JSONValue) {
        bytes = value.estimatedTextSize
        largestContainer = Self.largestContainer(in: value, depthBudget: JSONLimits.maximumDepth)
    }

    private init(bytes: Int, largestContainer: Int) {
        self.bytes = bytes
        self.largestContainer = largestContainer
    }

    /// The size of `new`, which `patch` made from `old` (whose size is `self`), and the member
    /// count of the largest object that grew or was added (0 if none).
    ///
    /// Only the members the patch names are visited when every operation adds, replaces or
    /// removes an object member and no operation's path lies inside another's (what diffs of
    /// objects give); otherwise the whole of `new` is measured.
    func updated(by patch: JSONPatch, from old: JSONValue, to new: JSONValue) -> (size: StateSize, grown: Int) {
        let incremental = incrementallyUpdated(
            by: patch, oldObject: { Self.object(at: $0, in: old) }, newObject: { Self.object(at: $0, in: new) })
        return incremental ?? measured(new)
    }

    /// As `updated(by:from:to:)` for `patch`, the diff of the member `change` names, which is
    /// now set in `new` (`change.value` is the new member). The old document is gone (edited in
    /// place): `old` was the member's value there, `oldCount` the count of its object.
    func updated(
        by patch: JSONPatch, settingMember change: MemberChange, from old: JSONValue?, oldCount: Int, in new: JSONValue
    ) -> (size: StateSize, grown: Int) {
        let memberDepth = change.object.count + 1
        let incremental = incrementallyUpdated(
            by: patch,
            oldObject: { tokens in
                if tokens.elementsEqual(change.object) {
                    // The object as it was: its other members are the very same values.
                    guard let parent = Self.object(at: tokens, in: new) else { return nil }
                    return ObjectView(count: oldCount) { $0 == change.key ? old : parent[$0] }
                }
                guard let old, tokens.count >= memberDepth,
                    tokens.prefix(memberDepth).elementsEqual(change.object + [change.key])
                else { return nil }
                return Self.object(at: tokens.dropFirst(memberDepth), in: old)
            },
            newObject: { Self.object(at: $0, in: new) })
        return incremental ?? measured(new)
    }

    private func measured(_ new: JSONValue) -> (size: StateSize, grown: Int) {
        let size = StateSize(of: new)
        return (size, size.largestContainer > largestContainer ? size.largestContainer : 0)
    }

    /// What the incremental update reads of an object: its count and members.
    private struct ObjectView {
        let count: Int
        let member: (String) -> JSONValue?

        init(count: Int, member: @escaping (String) -> JSONValue?) {
            self.count = count
            self.member = member
        }

        init?(_ object: JSONObject?) {
            guard let object else { return nil }
            self.init(count: object.count) { object[$0] }
        }

        var isEmpty: Bool { count == 0 }
        subscript(key: String) -> JSONValue? { member(key) }
    }

    /// Beyond this many operations, checking that no path lies inside another costs more than it saves.
    private static var maximumIncrementalOperations: Int { 64 }

    private func incrementallyUpdated(
        by patch: JSONPatch, oldObject: (ArraySlice<String>) -> ObjectView?,
        newObject: (ArraySlice<String>) -> ObjectView?
    ) -> (size: StateSize, grown: Int)? {
        guard patch.operations.count <= Self.maximumIncrementalOperations else { return nil }
        var paths: [JSONPointer] = []
        for operation in patch.operations {
            switch operation {
            case .add(let path, _), .replace(let path, _), .remove(let path):
                guard !path.tokens.isEmpty else { return nil }
                paths.append(path)
            case .move, .copy, .test:
                return nil
            }
        }
        for (index, path) in paths.enumerated() {
            for other in paths[(index + 1)...] where path.hasPrefix(other) || other.hasPrefix(path) {
                return nil
            }
        }
        var size = self
        var grown = 0
        // `{}` counts 2, a non-empty object 1 plus its members: correct once per parent that
        // became empty or stopped being empty.
        var parents: Set<ArraySlice<String>> = []
        for path in paths {
            let parentTokens = path.tokens.dropLast()
            guard let key = path.tokens.last,
                let oldParent = oldObject(parentTokens),
                let newParent = newObject(parentTokens)
            else { return nil }
            if parents.insert(parentTokens).inserted {
                if oldParent.isEmpty && !newParent.isEmpty { size.bytes -= 1 }
                if !oldParent.isEmpty && newParent.isEmpty { size.bytes += 1 }
            }
            let before = oldParent[key]
            let after = newParent[key]
            if let before { size.bytes -= JSONValue.estimatedTextSize(ofMember: key, before) }
            if let after {
                size.bytes += JSONValue.estimatedTextSize(ofMember: key, after)
                let inside = Self.largestContainer(in: after, depthBudget: JSONLimits.maximumDepth)
                let added = before == nil ? newParent.count : 0
                grown = max(grown, inside, added)
                size.largestContainer = max(size.largestContainer, inside, added)
            }
        }
        return (size, grown)
    }

    /// The object at `tokens` below `value`; nil when the path crosses an array or a scalar.
    private static func object(at tokens: ArraySlice<String>, in value: JSONValue) -> ObjectView? {
        ObjectView(jsonObject(at: tokens, in: value))
    }

    private static func jsonObject(at tokens: ArraySlice<String>, in value: JSONValue) -> JSONObject? {
        var current = value
        for token in tokens {
            guard case .object(let object) = current, let member = object[token] else { return nil }
            current = member
        }
        guard case .object(let object) = current else { return nil }
        return object
    }

    private static func largestContainer(in value: JSONValue, depthBudget: Int) -> Int {
        guard depthBudget > 0 else { return 0 }
        switch value {
        case .array(let elements):
            return elements.reduce(elements.count) { max($0, largestContainer(in: $1, depthBudget: depthBudget - 1)) }
        case .object(let object):
            return object.reduce(object.count) {
                max($0, largestContainer(in: $1.value, depthBudget: depthBudget - 1))
            }
        case .null, .bool, .integer, .real, .string:
            return 0
        }
    }
}
