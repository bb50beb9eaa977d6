/// One HTTP request as the server hands it to an `HTTPHandler`: already authorised, with
/// the path and query arguments URL-decoded and the whole body read.
public struct HTTPRequest: Sendable, Hashable {
    /// One `name=value` pair of the query string, in the order given.
    public struct QueryItem: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var method: HTTPMethod
    /// The path without the query string, e.g. `/api/docs/default/history`.
    public var path: String
    public var query: [QueryItem]
    public var body: [UInt8]
    /// What the request's token allows; the handler checks it against each document touched.
    public var access: DocumentAccess

    public init(
        method: HTTPMethod, path: String, query: [QueryItem] = [], body: [UInt8] = [],
        access: DocumentAccess = .everything
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.access = access
    }

    /// The value of the first query item named `name`.
    public func queryValue(_ name: String) -> String? {
        query.first(where: { $0.name == name })?.value
    }
}

/// The request method. Only the ones the API distinguishes are named; others keep their text.
public struct HTTPMethod: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public static let get = HTTPMethod(rawValue: "GET")
    public static let post = HTTPMethod(rawValue: "POST")
    public static let head = HTTPMethod(rawValue: "HEAD")

    public var description: String { rawValue }
}
