import JSONCodec
import JSONPatch
import Logging
import SyncEngine

/// The JSON API over a `SyncEngine`, plus `/metrics`.
///
///     GET  /api/docs                                 {"documents":[{"name":..,"version":N,"changed":MS,"title":..},...]}
///                                                    (a declared type's entries also carry "model":"NAME")
///     GET  /api/docs/<name>                          {"version":N,"state":{...}}
///     GET  /api/docs/<name>/state?version=V          {"version":V,"state":{...}}  (the state at V)
///     GET  /api/docs/<name>/history?since=V&limit=N  {"events":[...],"oldest":V,"truncated":false}
///          &order=desc: the newest `limit` events after V, newest first (default `asc`: the first ones, oldest first)
///     GET  /api/docs/<name>/schema                   {"model":"NAME","version":V,"schema":{...}}  (a declared
///                                                    type's JSON Schema file; the Todo list: {"model":"todo","schema":null})
///     POST /api/docs/<name>/revert   {"version":V}   {"version":N}  (N: the version after the revert)
///     GET  /metrics                                  Prometheus text
///
/// Each request's `access` decides: the list shows the documents it may read; state, state at a
/// version and history need `read` on the document; revert and `/metrics` need `admin` (403).
///
/// Errors are `{"error":{"code":..,"message":..}}` with 400 (bad name, query or body), 403 (not allowed),
/// 404 (no such document, path, or version), 405 (wrong method), 503 (storage failing), 500.
public struct DocumentAPI<Model: DocumentModel>: HTTPHandler {
    /// Limits on what one request may ask for.
    public struct Configuration: Sendable {
        /// Events returned by a history request without `limit`.
        public var defaultHistoryLimit: Int
        /// The largest `limit` a history request may give.
        public var maximumHistoryLimit: Int

        public init(defaultHistoryLimit: Int = 1000, maximumHistoryLimit: Int = 10_000) {
            self.defaultHistoryLimit = max(1, defaultHistoryLimit)
            self.maximumHistoryLimit = max(self.defaultHistoryLimit, maximumHistoryLimit)
        }
    }

    public let configuration: Configuration
    private let engine: SyncEngine<Model>
    private let transport: (any TransportMetricsSource)?
    private let logger: Logger

    /// `transport` supplies the connection counters of `/metrics`; without it they are left out.
    public init(
        engine: SyncEngine<Model>, transport: (any TransportMetricsSource)? = nil,
        configuration: Configuration = Configuration(), logger: Logger
    ) {
        self.engine = engine
        self.transport = transport
        self.configuration = configuration
        self.logger = logger
    }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        do throws(APIError) {
            return try await route(request)
        } catch {
            if error.status >= 500 {
                logger.error(
                    "API request failed",
                    metadata: ["method": "\(request.method)", "path": "\(request.path)", "error": "\(error)"])
            }
            return error.response
        }
    }

    private func route(_ request: HTTPRequest) async throws(APIError) -> HTTPResponse {
        if request.path == "/metrics" {
            try require(.get, request)
            guard request.access.admin else { throw APIError.forbidden("/metrics needs an admin token") }
            let text = MetricsExposition.render(engine: engine.metricsSnapshot(), transport: transport?.transportMetrics())
            return HTTPResponse(status: 200, contentType: MetricsExposition.contentType, body: Array(text.utf8))
        }
        var segments = request.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if segments.last == "" { segments = segments.dropLast() }
        guard request.path.hasPrefix("/"), segments.count >= 2, segments.prefix(2).elementsEqual(["api", "docs"]) else {
            throw APIError.notFound(request.path)
        }
        let rest = Array(segments.dropFirst(2))
        if rest.isEmpty {
            try require(.get, request)
            return try await listDocuments(request.access)
        }
        guard let name = DocumentName(String(rest[0])) else { throw APIError.invalidName(String(rest[0])) }
        if rest.count == 2 && rest[1] == "revert" {
            guard request.access.admin else { throw APIError.forbidden("reverting needs an admin token") }
        } else if !request.access.mayRead(name) {
            throw APIError.forbidden("this token may not read document '\(name)'")
        }
        switch rest.count {
        case 1:
            try require(.get, request)
            return try await state(of: name)
        case 2 where rest[1] == "state":
            try require(.get, request)
            return try await state(of: name, request)
        case 2 where rest[1] == "history":
            try require(.get, request)
            return try await history(of: name, request)
        case 2 where rest[1] == "schema":
            try require(.get, request)
            return schema(of: name)
        case 2 where rest[1] == "revert":
            try require(.post, request)
            return try await revert(name, request)
        default:
            throw APIError.notFound(request.path)
        }
    }

    private func require(_ method: HTTPMethod, _ request: HTTPRequest) throws(APIError) {
        guard request.method == method else { throw APIError.methodNotAllowed(request.method, request.path, allowed: method) }
    }

    // MARK: Endpoints

    /// `changed` is the time of the latest change (ms since the epoch), null when the store
    /// does not keep that change's event (a log that starts at a snapshot). Loads no document.
    private func listDocuments(_ access: DocumentAccess) async throws(APIError) -> HTTPResponse {
        let documents = await engine.documents().filter { access.mayRead($0.name) }.map { summary -> JSONValue in
            var entry: JSONObject = [
                "name": .string(summary.name.rawValue), "version": .integer(Int64(clamping: summary.version)),
                "changed": summary.changed.map { .integer($0) } ?? .null,
                "title": summary.title.map { .string($0) } ?? .null,
            ]
            // Only documents of a declared type: the Todo list's entries stay as they were.
            if let model = summary.model { entry["model"] = .string(model) }
            return .object(entry)
        }
        return .json(["documents": .array(documents)])
    }

    /// The type a document's name gives it, read from the configuration: loads no document, so
    /// a page can choose its editor before it connects.
    private func schema(of name: DocumentName) -> HTTPResponse {
        guard let type = engine.configuration.types.type(of: name) else {
            return .json(["model": .string(Model.modelName), "schema": .null])
        }
        return .json([
            "model": .string(type.name), "version": .integer(Int64(type.version)), "schema": type.schema ?? .null,
        ])
    }

    private func state(of name: DocumentName, _ request: HTTPRequest) async throws(APIError) -> HTTPResponse {
        guard let version = try unsignedQuery("version", request) else {
            throw APIError.invalidQuery("give the version to rebuild, as ?version=V")
        }
        let past: DocumentState
        do {
            past = try await engine.state(of: name, at: version)
        } catch {
            throw APIError(error)
        }
        return .json(["version": .integer(Int64(clamping: past.version)), "state": past.state])
    }

    private func state(of name: DocumentName) async throws(APIError) -> HTTPResponse {
        let current: DocumentState
        do {
            current = try await engine.state(of: name)
        } catch {
            throw APIError(error)
        }
        return .json(["version": .integer(Int64(clamping: current.version)), "state": current.state])
    }

    private func history(of name: DocumentName, _ request: HTTPRequest) async throws(APIError) -> HTTPResponse {
        let since = try unsignedQuery("since", request) ?? 0
        let limit = try unsignedQuery("limit", request).map { Int(clamping: $0) } ?? configuration.defaultHistoryLimit
        guard limit <= configuration.maximumHistoryLimit else {
            throw APIError.invalidQuery("limit must be at most \(configuration.maximumHistoryLimit), got \(limit)")
        }
        let newestFirst: Bool
        switch request.queryValue("order") {
        case nil, "asc": newestFirst = false
        case "desc": newestFirst = true
        case let other?: throw APIError.invalidQuery("order must be asc or desc, got '\(other)'")
        }
        let summary: DocumentSummary
        do {
            summary = try engine.summary(of: name)
        } catch {
            throw APIError(error)
        }
        guard since <= summary.version else {
            throw APIError(
                SyncEngineError(
                    .versionNotAvailable, "since=\(since) is newer than the current version \(summary.version)"))
        }
        // Newest first: the page after the version `limit` before the latest, read oldest first
        // and turned round. Events that arrive meanwhile are not in it (as with any page).
        let from = newestFirst ? max(since, summary.version - min(summary.version, UInt64(limit))) : since
        let page: HistoryPage
        do {
            page = try await engine.historyPage(of: name, since: from, limit: limit)
        } catch {
            throw APIError(error)
        }
        let events = newestFirst ? page.events.reversed() : page.events
        return .json([
            "events": .array(events.map(\.jsonValue)), "oldest": .integer(Int64(clamping: page.oldestVersion)),
            "truncated": .bool(page.isTruncated),
        ])
    }

    private func revert(_ name: DocumentName, _ request: HTTPRequest) async throws(APIError) -> HTTPResponse {
        guard !request.body.isEmpty else { throw APIError.invalidBody("the body is empty; send {\"version\":V}") }
        let body: JSONValue
        do {
            body = try JSONCodec.decode(request.body)
        } catch {
            throw APIError.invalidBody("the body is not JSON: \(error)")
        }
        guard case .object(let object) = body else {
            throw APIError.invalidBody("the body must be an object like {\"version\":3}, not \(body.typeName)")
        }
        guard let value = object["version"] else { throw APIError.invalidBody("the body has no \"version\"") }
        guard case .integer(let integer) = value, integer >= 0 else {
            throw APIError.invalidBody("\"version\" must be a non-negative integer")
        }
        let target = UInt64(integer)
        let newVersion: UInt64
        do {
            newVersion = try await engine.revert(name, to: target, author: request.access.author)
        } catch {
            throw APIError(error)
        }
        logger.info(
            "Reverted a document",
            metadata: [
                "document": "\(name)", "to": "\(target)", "version": "\(newVersion)",
                "user": "\(request.access.author ?? "")",
            ])
        return .json(["version": .integer(Int64(clamping: newVersion))])
    }

    private func unsignedQuery(_ name: String, _ request: HTTPRequest) throws(APIError) -> UInt64? {
        guard let text = request.queryValue(name) else { return nil }
        guard let value = UInt64(decimalDigits: text) else {
            throw APIError.invalidQuery("\(name) must be a non-negative integer, got '\(text)'")
        }
        return value
    }
}
