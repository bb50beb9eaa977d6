import JSONCodec
import JSONPatch

/// The server's messages encoded straight to shareable bytes: what the engine sends. These are
/// the fast paths of fan-out (a Patch's ops encoded once, Patches coalesced by copying bytes,
/// a Full's state encoded once for both roles); each gives the same bytes as `encoded()` of the
/// typed `ServerMessage` (SyncProtocolTests checks this).
extension ServerMessage {
    /// `{"type":"Full","<stateKey>":{...},"version":N,"schema":S` (no closing brace): a Full up to
    /// its last member (the role), so that the state is encoded once for every role.
    package static func fullHead(stateKey: String, state: JSONValue, version: UInt64, schema: Int, model: String? = nil)
        throws(JSONEncodingError) -> [UInt8]
    {
        var object: JSONObject = [
            "type": "Full", stateKey: state, "version": .integer(Int64(clamping: version)),
            "schema": .integer(Int64(schema)),
        ]
        if let model { object["model"] = .string(model) }
        var bytes = try JSONCodec.encode(.object(object))
        bytes.removeLast()
        return bytes
    }

    /// `,"role":"editor"}` or `,"role":"viewer"}`: the end of a Full begun by `fullHead`.
    package static func fullTail(for role: SessionRole) -> [UInt8] {
        Array(#","role":"\#(role.rawValue)"}"#.utf8)
    }

    /// The ops go from version `version - 1` to `version`.
    public static func patch(_ patch: JSONPatch, version: UInt64) throws(JSONEncodingError) -> OutboundMessage {
        let ops = try JSONCodec.encode(patch.jsonValue)
        return patchMessage(from: version &- 1, version: version, opsCount: ops.count) { output in
            ops.withUnsafeBytes { output.copyMemory(from: $0) }
        }
    }

    /// Consecutive Patches (each `from` the previous `version`) as one Patch holding all their ops
    /// in order, `from` the first's and `version` the last's: what a client that fell behind gets
    /// instead of one frame per version. Built from the encoded messages, without decoding them.
    public static func coalesce(_ patches: [OutboundMessage]) -> OutboundMessage {
        var spans: [(message: OutboundMessage, ops: Range<Int>)] = []
        var from: UInt64?
        var version: UInt64 = 0
        for message in patches {
            guard case .patch(let messageFrom, let messageVersion, let ops) = message.kind else {
                preconditionFailure("coalesce takes Patches only")
            }
            precondition(from == nil || messageFrom == version, "coalesced Patches must be consecutive")
            from = from ?? messageFrom
            version = messageVersion
            // The array's members, without its brackets; an empty array adds nothing.
            if ops.count > 2 { spans.append((message, (ops.lowerBound + 1)..<(ops.upperBound - 1))) }
        }
        let members = spans.reduce(0) { $0 + $1.ops.count } + max(spans.count - 1, 0)
        return patchMessage(from: from ?? 0, version: version, opsCount: members + 2) { output in
            var offset = 0
            func put(_ byte: UInt8) {
                output[offset] = byte
                offset += 1
            }
            put(UInt8(ascii: "["))
            for (index, span) in spans.enumerated() {
                if index > 0 { put(UInt8(ascii: ",")) }
                let bytes = UnsafeRawBufferPointer(rebasing: span.message.payload[span.ops])
                UnsafeMutableRawBufferPointer(rebasing: output[offset..<(offset + bytes.count)]).copyMemory(from: bytes)
                offset += bytes.count
            }
            put(UInt8(ascii: "]"))
        }
    }

    /// `{"type":"Patch","ops":OPS,"version":V,"from":F}`, with `writeOps` filling the OPS bytes.
    private static func patchMessage(
        from: UInt64, version: UInt64, opsCount: Int, writeOps: (UnsafeMutableRawBufferPointer) -> Void
    ) -> OutboundMessage {
        let head = Array(#"{"type":"Patch","ops":"#.utf8)
        let tail = Array(#","version":\#(version),"from":\#(from)}"#.utf8)
        let ops = head.count..<(head.count + opsCount)
        return OutboundMessage(
            count: head.count + opsCount + tail.count, kind: .patch(from: from, version: version, ops: ops)
        ) { (payload: UnsafeMutableRawBufferPointer) in
            head.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: payload[..<ops.lowerBound]).copyMemory(from: $0) }
            writeOps(UnsafeMutableRawBufferPointer(rebasing: payload[ops]))
            tail.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: payload[ops.upperBound...]).copyMemory(from: $0) }
        }
    }

    /// `id` is echoed as the client sent it (a string or a number).
    public static func ack(id: JSONValue, version: UInt64) -> OutboundMessage {
        encodeDroppingUnencodableID(["type": "Ack", "id": id, "version": .integer(Int64(clamping: version))], kind: .reply)
    }

    /// The transport uses this too (e.g. for `rateLimited`), so every error has one format.
    /// `version` is the document's current version, for errors that carry it (`conflict`).
    public static func error(id: JSONValue?, code: SyncErrorCode, message: String, version: UInt64? = nil)
        -> OutboundMessage
    {
        var object: JSONObject = ["type": "Error"]
        if let id, id != .null { object["id"] = id }
        object["code"] = .string(code.rawValue)
        object["message"] = .string(message)
        if let version { object["version"] = .integer(Int64(clamping: version)) }
        return encodeDroppingUnencodableID(object, kind: .reply)
    }

    /// Strings, integers and the version always encode; only an id JSON cannot hold (a non-finite
    /// number handed in through the API) can fail, and then the reply goes out without it.
    private static func encodeDroppingUnencodableID(_ object: JSONObject, kind: OutboundMessage.Kind) -> OutboundMessage {
        if let bytes = try? JSONCodec.encode(.object(object)) { return OutboundMessage(bytes, kind: kind) }
        var withoutID = object
        withoutID["id"] = nil
        return OutboundMessage((try? JSONCodec.encode(.object(withoutID))) ?? [], kind: kind)
    }
}
