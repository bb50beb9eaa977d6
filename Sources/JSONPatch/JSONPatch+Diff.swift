extension JSONPatch {
    /// A patch that turns `old` into `new`: `apply(to: old)` gives a value equal to `new`.
    ///
    /// Compact: object members are diffed one by one, a member renamed with its value kept is
    /// one `move`, and arrays are aligned on their longest common subsequence so that an element
    /// inserted or removed anywhere is a single `add` or `remove`. Cheap on small edits: when
    /// `new` was made by editing a copy of `old`, only the edited members are visited.
    ///
    /// Throws `.tooDeep` when a visited value is nested deeper than `JSONLimits.maximumDepth`.
    public static func diff(from old: JSONValue, to new: JSONValue) throws(JSONPatchError) -> JSONPatch {
        var differ = JSONDiffer()
        try differ.diff(old, new)
        return JSONPatch(differ.operations)
    }

    /// The patch `diff(from:to:)` gives for one object member, at `pointer` (the member's path:
    /// the object's path and the key), when that member alone differs between two documents:
    /// nil on either side means the member is missing there. Lets a caller that edited the member
    /// in place, without a copy of the old document, get the very operations a diff of the two
    /// documents would give.
    public static func diff(ofMember old: JSONValue?, to new: JSONValue?, at pointer: JSONPointer)
        throws(JSONPatchError) -> JSONPatch
    {
        precondition(!pointer.tokens.isEmpty, "a member's pointer ends with its key")
        let key = pointer.tokens[pointer.tokens.count - 1]
        let object = Array(pointer.tokens.dropLast())
        var differ = JSONDiffer(tokens: object)
        if differ.isTooDeep { throw JSONPatchError.tooDeep(at: JSONPointer(tokens: object)) }
        try differ.diffMember(key, old, new)
        return JSONPatch(differ.operations)
    }
}

/// Walks two values side by side and records the operations between them.
struct JSONDiffer {
    private(set) var operations: [PatchOperation] = []
    /// The path of the values being compared.
    private var tokens: [String] = []

    /// The most edit steps spent aligning one array before falling back to pairing elements by
    /// position; bounds time and memory on large, unrelated arrays.
    static let maximumAlignmentSteps = 256
    /// The largest array middles for which the aligned diff is compared with the positional one.
    static let maximumComparedMiddle = 64
    /// The most members or elements `plainlyEqual` looks at in one container.
    static let plainlyComparedCount = 16

    private var pointer: JSONPointer { JSONPointer(tokens: tokens) }
    private var depthBudget: Int { JSONLimits.maximumDepth - tokens.count }

    init() {}

    /// Starts at the value at `tokens`, as the walk of whole documents reaches it.
    init(tokens: [String]) {
        self.tokens = tokens
    }

    /// Whether the object holding a member here is as deep as a diff may go (`diffObjects` throws there).
    var isTooDeep: Bool { depthBudget <= 0 }

    mutating func diff(_ old: JSONValue, _ new: JSONValue) throws(JSONPatchError) {
        let start = operations.count
        switch (old, new) {
        case (.object(let a), .object(let b)):
            try diffObjects(a, b)
        case (.array(let a), .array(let b)):
            try diffArrays(a, b)
        default:
            // Scalars, or values of different types: `==` does not recurse here.
            if old != new { try emitReplace(with: new) }
            return
        }
        // Many edits inside a small value: one replace says it in fewer bytes.
        if operations.count - start > 1 {
            let editsSize = PatchSizeEstimate.of(operations[start...])
            let replacement = PatchOperation.replace(path: pointer, value: new)
            if PatchSizeEstimate.of(replacement, upTo: editsSize) < editsSize {
                operations.replaceSubrange(start..., with: [replacement])
            }
        }
    }

    // MARK: Objects

    private mutating func diffObjects(_ a: JSONObject, _ b: JSONObject) throws(JSONPatchError) {
        if a.isIdentical(to: b) { return }
        if depthBudget <= 0 { throw JSONPatchError.tooDeep(at: pointer) }
        if let changed = b.keysChanged(since: a) {
            for key in changed {
                try diffMember(key, a[key], b[key])
            }
            return
        }
        let oldMembers = a.members
        let newMembers = b.members
        if oldMembers.keys.elementsEqual(newMembers.keys) {
            // Same keys in the same order, as when both were encoded from similar state.
            for (key, (oldValue, newValue)) in zip(oldMembers.keys, zip(oldMembers.values, newMembers.values)) {
                try diffChild(key, oldValue, newValue)
            }
            return
        }
        var removed: [String] = []
        for (key, oldValue) in oldMembers {
            if let newValue = newMembers[key] {
                try diffChild(key, oldValue, newValue)
            } else {
                removed.append(key)
            }
        }
        var added: [String] = []
        if newMembers.count != oldMembers.count - removed.count {
            added = newMembers.keys.filter { oldMembers.index(forKey: $0) == nil }
        }
        if added.isEmpty {
            for key in removed { operations.append(.remove(path: pointer.appending(key))) }
            return
        }
        let moves = try matchMoves(
            removed: removed.map { oldMembers[$0] ?? .null }, added: added.map { newMembers[$0] ?? .null })
        var movedFrom = Set<Int>()
        for (_, source) in moves { movedFrom.insert(source) }
        for (index, key) in removed.enumerated() where !movedFrom.contains(index) {
            operations.append(.remove(path: pointer.appending(key)))
        }
        for (index, key) in added.enumerated() {
            if let source = moves[index] {
                operations.append(.move(from: pointer.appending(removed[source]), path: pointer.appending(key)))
            } else {
                try inMember(key) { (differ) throws(JSONPatchError) in
                    try differ.emitAdd(newMembers[key] ?? .null)
                }
            }
        }
    }

    /// Diffs one member or element, skipping the walk when the two are plainly the same.
    private mutating func diffChild(_ token: String, _ old: JSONValue, _ new: JSONValue) throws(JSONPatchError) {
        if Self.plainlyEqual(old, new, levels: 2) { return }
        try inMember(token) { (differ) throws(JSONPatchError) in try differ.diff(old, new) }
    }

    /// True when `x` and `y` are equal scalars, share storage, or are small containers at most
    /// `levels` deep whose members, in the same order, are plainly equal. False means "walk
    /// them": bounded in depth and width, it is a cheap filter for the common unchanged row.
    private static func plainlyEqual(_ x: JSONValue, _ y: JSONValue, levels: Int) -> Bool {
        switch (x, y) {
        case (.object(let a), .object(let b)):
            if a.isIdentical(to: b) { return true }
            guard levels > 0, a.count == b.count, a.count <= Self.plainlyComparedCount else { return false }
            let aKeys = a.members.keys.elements
            let bKeys = b.members.keys.elements
            let aValues = a.members.values.elements
            let bValues = b.members.values.elements
            for index in aKeys.indices {
                guard aKeys[index] == bKeys[index], plainlyEqual(aValues[index], bValues[index], levels: levels - 1)
                else { return false }
            }
            return true
        case (.array(let a), .array(let b)):
            guard levels > 0, a.count == b.count, a.count <= Self.plainlyComparedCount else { return false }
            for index in a.indices where !plainlyEqual(a[index], b[index], levels: levels - 1) { return false }
            return true
        case (.object, _), (.array, _), (_, .object), (_, .array):
            return false
        default:
            return x == y
        }
    }

    mutating func diffMember(_ key: String, _ old: JSONValue?, _ new: JSONValue?) throws(JSONPatchError) {
        switch (old, new) {
        case (.some(let oldValue), .some(let newValue)):
            try diffChild(key, oldValue, newValue)
        case (.none, .some(let newValue)):
            try inMember(key) { (differ) throws(JSONPatchError) in try differ.emitAdd(newValue) }
        case (.some, .none):
            operations.append(.remove(path: pointer.appending(key)))
        case (.none, .none):
            break
        }
    }

    // MARK: Arrays

    private mutating func diffArrays(_ a: [JSONValue], _ b: [JSONValue]) throws(JSONPatchError) {
        if a.count == b.count,
            a.withUnsafeBufferPointer({ $0.baseAddress }) == b.withUnsafeBufferPointer({ $0.baseAddress })
        {
            return
        }
        if depthBudget <= 0 { throw JSONPatchError.tooDeep(at: pointer) }
        var prefix = 0
        while prefix < a.count, prefix < b.count, try equal(a[prefix], b[prefix]) { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix,
            try equal(a[a.count - 1 - suffix], b[b.count - 1 - suffix])
        {
            suffix += 1
        }
        let old = a[prefix..<(a.count - suffix)]
        let new = b[prefix..<(b.count - suffix)]
        if old.isEmpty {
            for (offset, value) in new.enumerated() {
                try inMember(String(prefix + offset)) { (differ) throws(JSONPatchError) in try differ.emitAdd(value) }
            }
        } else if new.isEmpty {
            for _ in old { operations.append(.remove(path: pointer.appending(index: prefix))) }
        } else {
            try diffMiddles(Array(old), Array(new), offset: prefix)
        }
    }

    /// Diffs the differing middles of two arrays, `offset` elements from the start.
    private mutating func diffMiddles(_ old: [JSONValue], _ new: [JSONValue], offset: Int) throws(JSONPatchError) {
        let oldDigests = try digests(of: old)
        let newDigests = try digests(of: new)
        guard
            let script = try ArrayAlignment.align(
                oldCount: old.count, newCount: new.count, maximumSteps: Self.maximumAlignmentSteps,
                equal: { (i, j) throws(JSONPatchError) in
                    guard oldDigests[i] == newDigests[j] else { return false }
                    return try equal(old[i], new[j])
                })
        else {
            try diffByPosition(old, new, offset: offset)
            return
        }
        let start = operations.count
        try emitAligned(script, old, new, oldDigests, newDigests, offset: offset)
        // Aligning can lose to pairing elements by position, e.g. when an element that moved
        // was also edited. Small middles try both and keep the smaller patch.
        guard operations.count - start > 1, old.count <= Self.maximumComparedMiddle,
            new.count <= Self.maximumComparedMiddle
        else { return }
        let aligned = Array(operations[start...])
        operations.removeSubrange(start...)
        try diffByPosition(old, new, offset: offset)
        if PatchSizeEstimate.of(operations[start...]) >= PatchSizeEstimate.of(aligned[...]) {
            operations.replaceSubrange(start..., with: aligned)
        }
    }

    /// Emits the operations of an edit script: moves for elements deleted in one place and
    /// inserted in another, in-place diffs for deletes and inserts that pair off, and plain
    /// removes and adds for the rest.
    private mutating func emitAligned(
        _ script: [ArrayEdit], _ old: [JSONValue], _ new: [JSONValue], _ oldDigests: [Int], _ newDigests: [Int],
        offset: Int
    ) throws(JSONPatchError) {
        let deleted = script.compactMap { if case .delete(let i) = $0 { i } else { nil as Int? } }
        let inserted = script.compactMap { if case .insert(let j) = $0 { j } else { nil as Int? } }
        let movesByInsert = try matchMoves(
            removed: deleted.map { old[$0] }, added: inserted.map { new[$0] },
            removedDigests: deleted.map { oldDigests[$0] }, addedDigests: inserted.map { newDigests[$0] })
        var moveSourceOf: [Int: Int] = [:]  // new index -> old index
        var moveTargetOf: [Int: Int] = [:]  // old index -> new index
        for (insertPosition, deletePosition) in movesByInsert {
            moveSourceOf[inserted[insertPosition]] = deleted[deletePosition]
            moveTargetOf[deleted[deletePosition]] = inserted[insertPosition]
        }

        // `working` mirrors the middle as the emitted operations change it: old elements by
        // index, new ones as -1 - index. `cursor` is where the next kept element sits.
        var working = Array(0..<old.count)
        var cursor = 0
        var movedSources = Set<Int>()
        var hunkStart = 0
        while hunkStart < script.count {
            if case .keep = script[hunkStart] {
                cursor += 1
                hunkStart += 1
                continue
            }
            var deletes: [Int] = []
            var inserts: [Int] = []
            while hunkStart < script.count {
                if case .delete(let i) = script[hunkStart] {
                    deletes.append(i)
                } else if case .insert(let j) = script[hunkStart] {
                    inserts.append(j)
                } else {
                    break
                }
                hunkStart += 1
            }

            // Elements that change in place pair off in order; moved ones stay out of it.
            let pureDeletes = deletes.filter { moveTargetOf[$0] == nil }
            let pureInserts = inserts.filter { moveSourceOf[$0] == nil }
            let pairCount = min(pureDeletes.count, pureInserts.count)
            var replacedBy: [Int: Int] = [:]  // new index -> old index
            for k in 0..<pairCount { replacedBy[pureInserts[k]] = pureDeletes[k] }
            let paired = Set(pureDeletes.prefix(pairCount))

            // First the hunk's old elements: drop the deleted ones, step over those that stay
            // (paired, or waiting for their move).
            let regionStart = cursor
            for i in deletes {
                if moveTargetOf[i] != nil {
                    if !movedSources.contains(i) { cursor += 1 }
                } else if paired.contains(i) {
                    cursor += 1
                } else {
                    operations.append(.remove(path: pointer.appending(index: offset + cursor)))
                    working.remove(at: cursor)
                }
            }
            // Then the new elements in their order, from the start of the region.
            var next = regionStart
            for j in inserts {
                if let i = replacedBy[j] {
                    while next < working.count, working[next] != i { next += 1 }
                    try inMember(String(offset + next)) { (differ) throws(JSONPatchError) in
                        try differ.diff(old[i], new[j])
                    }
                    working[next] = -1 - j
                    next += 1
                } else if let source = moveSourceOf[j], let position = working.firstIndex(of: source) {
                    working.remove(at: position)
                    if position < next { next -= 1 }
                    if position < cursor { cursor -= 1 }
                    working.insert(-1 - j, at: next)
                    if next <= cursor { cursor += 1 }
                    movedSources.insert(source)
                    if position != next {
                        operations.append(
                            .move(
                                from: pointer.appending(index: offset + position),
                                path: pointer.appending(index: offset + next)))
                    }
                    next += 1
                } else {
                    try inMember(String(offset + next)) { (differ) throws(JSONPatchError) in
                        try differ.emitAdd(new[j])
                    }
                    working.insert(-1 - j, at: next)
                    if next <= cursor { cursor += 1 }
                    next += 1
                }
            }
        }
    }

    /// The fallback for arrays too different to align: element `i` becomes element `i`.
    private mutating func diffByPosition(_ old: [JSONValue], _ new: [JSONValue], offset: Int) throws(JSONPatchError) {
        let common = min(old.count, new.count)
        for i in 0..<common {
            try inMember(String(offset + i)) { (differ) throws(JSONPatchError) in try differ.diff(old[i], new[i]) }
        }
        for _ in common..<old.count {
            operations.append(.remove(path: pointer.appending(index: offset + common)))
        }
        for i in common..<new.count {
            try inMember(String(offset + i)) { (differ) throws(JSONPatchError) in try differ.emitAdd(new[i]) }
        }
    }

    // MARK: Moves

    /// Pairs each added value with an equal removed one, if any: added position -> removed position.
    private func matchMoves(
        removed: [JSONValue], added: [JSONValue],
        removedDigests: [Int]? = nil, addedDigests: [Int]? = nil
    ) throws(JSONPatchError) -> [Int: Int] {
        guard !removed.isEmpty, !added.isEmpty else { return [:] }
        var removedDigests = removedDigests ?? []
        if removedDigests.isEmpty { removedDigests = try digests(of: removed) }
        var addedDigests = addedDigests ?? []
        if addedDigests.isEmpty { addedDigests = try digests(of: added) }
        var candidates: [Int: [Int]] = [:]
        for (position, digest) in removedDigests.enumerated().reversed() {
            candidates[digest, default: []].append(position)
        }
        var moves: [Int: Int] = [:]
        for (position, digest) in addedDigests.enumerated() {
            guard var sources = candidates[digest] else { continue }
            for (k, source) in sources.enumerated().reversed() where try equal(removed[source], added[position]) {
                sources.remove(at: k)
                candidates[digest] = sources
                moves[position] = source
                break
            }
        }
        return moves
    }

    // MARK: Helpers

    private func equal(_ x: JSONValue, _ y: JSONValue) throws(JSONPatchError) -> Bool {
        guard let result = x.isEqual(to: y, depthBudget: depthBudget - 1) else {
            throw JSONPatchError.tooDeep(at: pointer)
        }
        return result
    }

    private func digests(of values: [JSONValue]) throws(JSONPatchError) -> [Int] {
        var digests: [Int] = []
        digests.reserveCapacity(values.count)
        for value in values {
            guard let digest = value.boundedDigest(depthBudget: depthBudget - 1) else {
                throw JSONPatchError.tooDeep(at: pointer)
            }
            digests.append(digest)
        }
        return digests
    }

    private mutating func inMember(
        _ token: String, _ body: (inout JSONDiffer) throws(JSONPatchError) -> Void
    ) throws(JSONPatchError) {
        tokens.append(token)
        defer { tokens.removeLast() }
        try body(&self)
    }

    private mutating func emitAdd(_ value: JSONValue) throws(JSONPatchError) {
        if value.isNested(deeperThan: depthBudget) { throw JSONPatchError.tooDeep(at: pointer) }
        operations.append(.add(path: pointer, value: value))
    }

    private mutating func emitReplace(with value: JSONValue) throws(JSONPatchError) {
        if value.isNested(deeperThan: depthBudget) { throw JSONPatchError.tooDeep(at: pointer) }
        operations.append(.replace(path: pointer, value: value))
    }
}
