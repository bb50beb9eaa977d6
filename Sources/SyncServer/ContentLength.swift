/// The `Content-Length` of a request as lws reports it: repeated headers arrive joined by commas,
/// and RFC 9110 (section 8.6) lets a recipient accept a list of identical values as that value.
enum ContentLength {
    enum Failure: Error, Equatable {
        case notANumber(String)
        case conflicting(String)
    }

    /// Nil without a header; the length when every listed value is the same decimal number.
    static func parse(_ header: String?) -> Result<Int?, Failure> {
        guard let header else { return .success(nil) }
        var length: Int?
        for part in header.split(separator: ",", omittingEmptySubsequences: false) {
            let text = String(part).trimmingSpaces()
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text) else {
                return .failure(.notANumber(header))
            }
            if let length, length != value { return .failure(.conflicting(header)) }
            length = value
        }
        return .success(length)
    }
}
