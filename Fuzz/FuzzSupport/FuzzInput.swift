import JSONPatch

/// Reads a fuzzer's input as a sequence of choices, so that libFuzzer's byte mutations become
/// mutations of the documents, pointers and requests built from it. Past the end every read
/// gives zero, so any input builds something.
public struct FuzzInput {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: size))
    }

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var isExhausted: Bool { offset >= bytes.count }

    /// The bytes not read yet, consuming them.
    public mutating func remainingBytes() -> [UInt8] {
        defer { offset = bytes.count }
        return Array(bytes[min(offset, bytes.count)...])
    }

    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A number in `0..<bound` (bound at most 256).
    public mutating func choice(below bound: Int) -> Int {
        Int(byte()) % bound
    }

    public mutating func element<T>(of options: [T]) -> T {
        options[choice(below: options.count)]
    }

    public mutating func bool() -> Bool {
        byte() & 1 == 1
    }

    /// Eight bytes, big-endian.
    public mutating func int64() -> Int64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(byte()) }
        return Int64(bitPattern: value)
    }

    /// Up to `maximumLength` bytes, read as UTF-8 (ill-formed sequences become U+FFFD).
    public mutating func text(maximumLength: Int = 16) -> String {
        let length = choice(below: maximumLength + 1)
        var utf8: [UInt8] = []
        for _ in 0..<length where !isExhausted { utf8.append(byte()) }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Keys and strings drawn mostly from a few short ones, so that objects share keys and
    /// pointers find them; the rest are arbitrary.
    public mutating func key() -> String {
        let common = ["a", "b", "c", "", "0", "1", "-", "~", "/", "~1", "a/b", "é"]
        let pick = choice(below: common.count + 2)
        return pick < common.count ? common[pick] : text()
    }

    /// A JSON value at most `depth` levels deep with at most 4 elements per container;
    /// every number is finite, so every value can be encoded.
    public mutating func json(depth: Int = 4) -> JSONValue {
        switch choice(below: depth > 0 ? 9 : 6) {
        case 0: return .null
        case 1: return .bool(bool())
        case 2: return .integer(Int64(Int8(bitPattern: byte())))
        case 3: return bool() ? .integer(int64()) : .real(finiteReal())
        case 4, 5: return .string(key())
        case 6: return .array((0..<choice(below: 5)).map { _ in json(depth: depth - 1) })
        default:
            return .object(JSONObject((0..<choice(below: 5)).map { _ in (key(), json(depth: depth - 1)) }))
        }
    }

    /// A pointer that mostly follows the members and elements of `document`, and sometimes
    /// names one that is not there (past the end, `-`, a leading zero, a missing key).
    public mutating func pointer(in document: JSONValue) -> JSONPointer {
        var tokens: [String] = []
        var current: JSONValue? = document
        while choice(below: 4) != 0, tokens.count < 8 {
            switch current {
            case .array(let elements)? where choice(below: 4) != 0:
                let index = choice(below: elements.count + 1)
                tokens.append(String(index))
                current = index < elements.count ? elements[index] : nil
            case .object(let object)? where !object.isEmpty && choice(below: 4) != 0:
                let key = object.keys[choice(below: object.count)]
                tokens.append(key)
                current = object[key]
            default:
                tokens.append(element(of: ["-", "00", "01", "9", "18446744073709551616"] + [key()]))
                current = nil
            }
        }
        return JSONPointer(tokens: tokens)
    }

    /// One operation on `document`, its paths made by `pointer(in:)`.
    public mutating func operation(on document: JSONValue) -> PatchOperation {
        let path = pointer(in: document)
        switch choice(below: 6) {
        case 0: return .add(path: path, value: json(depth: 2))
        case 1: return .remove(path: path)
        case 2: return .replace(path: path, value: json(depth: 2))
        case 3: return .move(from: pointer(in: document), path: path)
        case 4: return .copy(from: pointer(in: document), path: path)
        default:
            // A test that passes as often as one that fails.
            return .test(path: path, value: bool() ? (document.value(at: path) ?? .null) : json(depth: 2))
        }
    }

    private mutating func finiteReal() -> Double {
        let value = Double(bitPattern: UInt64(bitPattern: int64()))
        return value.isFinite ? value : Double(Int8(bitPattern: byte())) / 4
    }
}

extension JSONValue {
    /// The value `pointer` names, or nil when it names none.
    func value(at pointer: JSONPointer) -> JSONValue? {
        var current = self
        for token in pointer.tokens {
            switch current {
            case .array(let elements):
                guard let index = Int(token), String(index) == token, elements.indices.contains(index) else { return nil }
                current = elements[index]
            case .object(let object):
                guard let member = object[token] else { return nil }
                current = member
            default:
                return nil
            }
        }
        return current
    }
}
