/// The web page's files, compiled into the binary by SwiftPM's `.embedInCode`.
public enum WebAssets {
    /// A file to serve over HTTP.
    public struct File: Sendable {
        public let path: String
        public let contentType: String
        public let bytes: [UInt8]
    }
}
