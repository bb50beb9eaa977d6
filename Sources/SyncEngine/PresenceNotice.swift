import JSONCodec
import JSONPatch

/// A change of a document's presence list.
public enum PresenceChange: Sendable, Equatable {
    /// The session said Hello (again: its entry replaces the old one).
    case joined(PresenceEntry)
    case left(SessionID)
    case focused(SessionID, String?)
}

/// What instances sharing a presence bus tell each other. Each instance announces itself with
/// `alive` every quarter of its `timeout`; the others drop its sessions when they hear nothing
/// from it for `timeout`. A full list of its sessions is sent between `rosterBegins` and
/// `rosterEnds`; `rosterRequest` asks one instance (or all, `nil`) for theirs.
public enum PresenceNotice: Sendable, Equatable {
    case alive(timeout: Duration)
    case change(DocumentName, PresenceChange)
    case rosterBegins
    case rosterEnds
    case rosterRequest(to: UInt32?)
    /// The instance stops: its sessions are gone.
    case gone
}

/// One bus message: an instance's notices, in order, as JSON that fits a PostgreSQL NOTIFY:
///
///     {"instance":7,"notices":[{"type":"alive","timeout":20000},
///       {"type":"join","document":"default","entry":{"session":..,"name":..,...}},
///       {"type":"leave","document":"default","session":N},
///       {"type":"focus","document":"default","session":N,"focus":"/todos/3"},
///       {"type":"rosterBegins"},{"type":"rosterEnds"},{"type":"rosterRequest","to":N},{"type":"gone"}]}
public struct PresenceMessage: Sendable, Equatable {
    public var instance: UInt32
    public var notices: [PresenceNotice]

    public init(instance: UInt32, notices: [PresenceNotice]) {
        self.instance = instance
        self.notices = notices
    }

    /// `notices` as few messages as fit, in order, each at most `maximumBytes` of JSON. One notice
    /// is at most about 2.5 KB (a 64-character name and 256 bytes of focus, escaped), so any
    /// limit above that holds every notice.
    public static func payloads(instance: UInt32, notices: [PresenceNotice], maximumBytes: Int) -> [[UInt8]] {
        let head = Array(#"{"instance":\#(instance),"notices":["#.utf8)
        let tail = Array("]}".utf8)
        var payloads: [[UInt8]] = []
        var current = head
        for notice in notices {
            guard let encoded = try? JSONCodec.encode(notice.jsonValue),
                head.count + encoded.count + tail.count <= maximumBytes
            else { continue }
            if current.count > head.count, current.count + 1 + encoded.count + tail.count > maximumBytes {
                payloads.append(current + tail)
                current = head
            }
            if current.count > head.count { current.append(UInt8(ascii: ",")) }
            current += encoded
        }
        if current.count > head.count { payloads.append(current + tail) }
        return payloads
    }

    /// Reads a message written by `payloads`; nil when it is not one. Notices this release does
    /// not know (a newer instance's) are skipped.
    public init?(payload: [UInt8]) {
        guard let json = try? JSONCodec.decode(payload), case .integer(let instance)? = json["instance"],
            let number = UInt32(exactly: instance), case .array(let notices)? = json["notices"]
        else { return nil }
        self.init(instance: number, notices: notices.compactMap(PresenceNotice.init(json:)))
    }
}

extension PresenceNotice {
    var jsonValue: JSONValue {
        switch self {
        case .alive(let timeout):
            ["type": "alive", "timeout": .integer(timeout.milliseconds)]
        case .change(let document, .joined(let entry)):
            ["type": "join", "document": .string(document.rawValue), "entry": entry.jsonValue]
        case .change(let document, .left(let session)):
            ["type": "leave", "document": .string(document.rawValue), "session": .integer(Int64(clamping: session.rawValue))]
        case .change(let document, .focused(let session, let focus)):
            [
                "type": "focus", "document": .string(document.rawValue),
                "session": .integer(Int64(clamping: session.rawValue)), "focus": focus.map(JSONValue.string) ?? .null,
            ]
        case .rosterBegins: ["type": "rosterBegins"]
        case .rosterEnds: ["type": "rosterEnds"]
        case .rosterRequest(let instance):
            ["type": "rosterRequest", "to": instance.map { .integer(Int64($0)) } ?? .null]
        case .gone: ["type": "gone"]
        }
    }

    init?(json: JSONValue) {
        guard case .string(let type)? = json["type"] else { return nil }
        let document = json["document"].flatMap { value -> DocumentName? in
            if case .string(let name) = value { DocumentName(name) } else { nil }
        }
        let session = json["session"].flatMap { value -> SessionID? in
            if case .integer(let raw) = value, raw > 0 { SessionID(rawValue: UInt64(raw)) } else { nil }
        }
        switch type {
        case "alive":
            guard case .integer(let milliseconds)? = json["timeout"], milliseconds > 0 else { return nil }
            self = .alive(timeout: .milliseconds(milliseconds))
        case "join":
            guard let document, let entry = json["entry"].flatMap(PresenceEntry.init(json:)) else { return nil }
            self = .change(document, .joined(entry))
        case "leave":
            guard let document, let session else { return nil }
            self = .change(document, .left(session))
        case "focus":
            guard let document, let session else { return nil }
            switch json["focus"] {
            case .null?: self = .change(document, .focused(session, nil))
            case .string(let focus)? where focus.utf8.count <= PresenceRoster.maximumFocusBytes:
                self = .change(document, .focused(session, focus))
            default: return nil
            }
        case "rosterBegins": self = .rosterBegins
        case "rosterEnds": self = .rosterEnds
        case "rosterRequest":
            switch json["to"] {
            case .null?, nil: self = .rosterRequest(to: nil)
            case .integer(let instance)?:
                guard let number = UInt32(exactly: instance) else { return nil }
                self = .rosterRequest(to: number)
            default: return nil
            }
        case "gone": self = .gone
        default: return nil
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
