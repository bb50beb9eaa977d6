extension UInt64 {
    /// A number as URLs and HTTP headers write it: decimal digits only. Swift's `UInt64(_:)` also
    /// takes a leading `+`, which would let two spellings name one number.
    public init?(decimalDigits text: some StringProtocol) {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        self.init(text, radix: 10)
    }
}
