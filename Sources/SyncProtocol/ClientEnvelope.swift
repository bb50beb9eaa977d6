import JSONCodec
import JSONPatch

/// The bounds a client message is read within (the server's `DocumentLimits` give them).
public struct ClientMessageLimits: Sendable, Hashable {
    /// Deepest nesting of arrays and objects.
    public var maximumDepth: Int
    /// Longest string or key, in UTF-8 bytes.
    public var maximumStringBytes: Int

    public init(maximumDepth: Int, maximumStringBytes: Int) {
        self.maximumDepth = maximumDepth
        self.maximumStringBytes = maximumStringBytes
    }
}

/// A client message that is a JSON object of sane depth and string lengths, with its `id` read:
/// the first step of reading any client message, before its `type` decides the rest.
public struct ClientEnvelope: Sendable {
    /// The longest string `id`, in UTF-8 bytes. Ids are echoed in every reply and remembered for
    /// exactly-once; a UUID is 36 bytes. A number id is bounded by being a number.
    public static let maximumIDBytes = 128

    /// The client's `id`, echoed in the Ack or Error; nil when absent or null.
    public let id: JSONValue?
    /// The message as the client sent it.
    public let message: JSONValue
    /// The message without its `id`: what a resent action is compared by.
    public let body: JSONValue
    /// `type`, when it is a string.
    public var type: String? { message["type"]?.stringValue }

    /// Checks a client's text in the order the protocol documents: JSON, object, id, depth,
    /// string lengths, U+0000 in strings.
    public init(text bytes: [UInt8], limits: ClientMessageLimits) throws(ClientMessageError) {
        let json: JSONValue
        do {
            json = try JSONCodec.decode(bytes)
        } catch {
            if case .tooDeep = error.reason {
                throw ClientMessageError(
                    id: nil, code: .tooDeep, message: "message nests deeper than \(limits.maximumDepth) levels")
            }
            throw ClientMessageError(id: nil, code: .invalidJSON, message: "not valid JSON: \(error)")
        }
        guard case .object(var object) = json else {
            throw ClientMessageError(
                id: nil, code: .notAnObject, message: "expected a JSON object, found \(json.typeName)")
        }

        let id: JSONValue?
        switch object["id"] {
        case nil, .null?: id = nil
        case .string(let text)? where text.utf8.count > Self.maximumIDBytes:
            // Not echoed: the reply and the memory of outcomes stay small whatever was sent.
            throw ClientMessageError(
                id: nil, code: .invalidAction,
                message: "id: \(text.utf8.count) bytes of UTF-8; at most \(Self.maximumIDBytes) (use a UUID)")
        case .string?, .integer?, .real?: id = object["id"]
        case let other?:
            throw ClientMessageError(
                id: nil, code: .invalidAction, message: "id: expected a string or a number, found \(other.typeName)")
        }
        guard !json.isNested(deeperThan: limits.maximumDepth) else {
            throw ClientMessageError(
                id: id, code: .tooDeep, message: "message nests deeper than \(limits.maximumDepth) levels")
        }
        if let length = Self.overlongStringLength(in: json, over: limits.maximumStringBytes) {
            throw ClientMessageError(
                id: id, code: .stringTooLong,
                message: "a string of \(length) bytes is longer than the limit of \(limits.maximumStringBytes)")
        }
        object["id"] = nil
        // A database cannot store U+0000 in text; refused here so that every store accepts the same.
        guard !JSONValue.object(object).containsNulCharacter else {
            throw ClientMessageError(id: id, code: .invalidAction, message: "strings may not contain U+0000 (\\u0000)")
        }
        self.id = id
        self.message = json
        self.body = .object(object)
    }

    /// The `id` of a message refused without reading it (over the rate), so that the client can
    /// match the Error to its action; nil when there is none to read.
    public static func id(ofText bytes: [UInt8]) -> JSONValue? {
        guard case .object(let object)? = try? JSONCodec.decode(bytes) else { return nil }
        switch object["id"] {
        case .string(let text)? where text.utf8.count > maximumIDBytes: return nil
        case .string?, .integer?, .real?: return object["id"]
        default: return nil
        }
    }

    /// The length of the first string or key longer than `limit` bytes, if any. Only called on
    /// messages whose depth was checked, so the recursion is shallow.
    private static func overlongStringLength(in value: JSONValue, over limit: Int) -> Int? {
        switch value {
        case .string(let text):
            return text.utf8.count > limit ? text.utf8.count : nil
        case .array(let elements):
            return elements.lazy.compactMap { overlongStringLength(in: $0, over: limit) }.first
        case .object(let object):
            for (key, member) in object {
                if key.utf8.count > limit { return key.utf8.count }
                if let length = overlongStringLength(in: member, over: limit) { return length }
            }
            return nil
        case .null, .bool, .integer, .real:
            return nil
        }
    }
}
