import SyncEngine

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
            guard let number = UInt64(decimalDigits: text), let value = Int(exactly: number) else {
                return .failure(.notANumber(header))
            }
            if let length, length != value { return .failure(.conflicting(header)) }
            length = value
        }
        return .success(length)
    }
}
