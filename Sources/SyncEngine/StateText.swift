import JSONCodec
import JSONPatch
import OrderedCollections
import SyncProtocol

/// The JSON text of a large state in pieces: each member of the root object, and each member of
/// its largest object member (a list's rows), encoded apart. After changes made in place
/// (`MemberChange`), only the changed members are encoded again and the text of the others is
/// copied: a join after each of many versions costs a copy of the text, not an encode.
///
/// Setting a member keeps its place, a new member goes last and a removed one leaves the others
/// in order: what setting the member in place does to the state, so the pieces put together
/// are always the text `JSONCodec.encode` gives for the state.
struct StateText {
    /// `"key":value` of each root member; for the split member, `"key":` only.
    private var rootMembers: OrderedDictionary<String, [UInt8]> = [:]
    /// The root member whose members are kept apart, if any.
    private var splitKey: String?
    /// `"key":value` of each member of the split member.
    private var splitMembers: OrderedDictionary<String, [UInt8]> = [:]
    /// The length of the whole text.
    private(set) var count = 0

    /// Only a state whose text is about this long or longer is kept in pieces: below it, encoding
    /// is cheap, and the pieces cost memory.
    static var minimumSize: Int { 32 * 1024 }

    /// The pieces of `state`, nested as the `Full` nests it: a member at depth d is checked
    /// against the depth the whole message's encoding allows. Nil when `state` is not an object.
    init?(_ state: JSONValue) throws(JSONEncodingError) {
        guard case .object(let root) = state else { return nil }
        var largest = 0
        for (key, value) in root {
            if case .object(let members) = value, members.count > largest {
                largest = members.count
                splitKey = key
            }
        }
        count = 2 + max(0, root.count - 1)
        for (key, value) in root {
            if key == splitKey, case .object(let members) = value {
                let keyText = try Self.keyText(key)
                rootMembers[key] = keyText
                count += keyText.count + 2 + max(0, members.count - 1)
                splitMembers.reserveCapacity(members.count)
                for (member, memberValue) in members {
                    let text = try Self.memberText(member, memberValue, depth: 2)
                    splitMembers[member] = text
                    count += text.count
                }
            } else {
                let text = try Self.memberText(key, value, depth: 1)
                rootMembers[key] = text
                count += text.count
            }
        }
    }

    /// Encodes again the member `key` of the object at `object` (`state` is the state after the
    /// change). False, changing nothing, when that object is not kept in pieces here.
    mutating func update(object: [String], key: String, in state: JSONValue) throws(JSONEncodingError) -> Bool {
        if object.isEmpty {
            guard key != splitKey else { return false }
            let text = try state[key].map { value throws(JSONEncodingError) in try Self.memberText(key, value, depth: 1) }
            Self.set(&rootMembers, key, to: text, count: &count)
            return true
        }
        guard object.count == 1, object[0] == splitKey, case .object(let members)? = state[object[0]] else {
            return false
        }
        let text = try members[key].map { value throws(JSONEncodingError) in try Self.memberText(key, value, depth: 2) }
        Self.set(&splitMembers, key, to: text, count: &count)
        return true
    }

    /// The text, appended to `bytes`.
    func write(to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "{"))
        for (index, (key, text)) in rootMembers.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: text)
            guard key == splitKey else { continue }
            bytes.append(UInt8(ascii: "{"))
            for (memberIndex, memberText) in splitMembers.values.enumerated() {
                if memberIndex > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(contentsOf: memberText)
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Sets or removes (`text` nil) one piece, keeping `count` (pieces and the commas between them).
    private static func set(
        _ pieces: inout OrderedDictionary<String, [UInt8]>, _ key: String, to text: [UInt8]?, count: inout Int
    ) {
        let old: [UInt8]?
        if let text { old = pieces.updateValue(text, forKey: key) } else { old = pieces.removeValue(forKey: key) }
        count += (text?.count ?? 0) - (old?.count ?? 0)
        // A piece added to or taken from a non-empty list adds or takes a comma.
        if old == nil, text != nil, pieces.count > 1 { count += 1 }
        if old != nil, text == nil, !pieces.isEmpty { count -= 1 }
    }

    /// `"key":`
    private static func keyText(_ key: String) throws(JSONEncodingError) -> [UInt8] {
        guard !key.utf8.contains(0) else { throw JSONEncodingError(reason: .nulInKey) }
        var text = try JSONCodec.encode(.string(key))
        text.append(UInt8(ascii: ":"))
        return text
    }

    /// `"key":value` for a member `depth` levels below the state (whose `Full` is one more level).
    private static func memberText(_ key: String, _ value: JSONValue, depth: Int) throws(JSONEncodingError) -> [UInt8] {
        if value.isNested(deeperThan: JSONLimits.maximumDepth - 1 - depth) {
            throw JSONEncodingError(reason: .tooDeep)
        }
        var text = try keyText(key)
        text.append(contentsOf: try JSONCodec.encode(value))
        return text
    }
}

extension StateText {
    /// As `ServerMessage.fullHead(stateKey:state:...)`, with the state's text put together from
    /// these pieces instead of encoded.
    func fullHead(stateKey: String, version: UInt64, schema: Int, model: String?) throws(JSONEncodingError) -> [UInt8] {
        // The same message around a `null` state: `{"type":"Full","<stateKey>":` + null + the rest.
        let frame = try ServerMessage.fullHead(stateKey: stateKey, state: .null, version: version, schema: schema, model: model)
        let stateStart = try JSONCodec.encode(["type": "Full"]).count + JSONCodec.encode(.string(stateKey)).count + 1
        var bytes: [UInt8] = []
        bytes.reserveCapacity(frame.count + count)
        bytes.append(contentsOf: frame[..<stateStart])
        assert(frame[stateStart..<(stateStart + 4)].elementsEqual("null".utf8), "the state's place in a Full")
        write(to: &bytes)
        bytes.append(contentsOf: frame[(stateStart + 4)...])
        return bytes
    }
}
