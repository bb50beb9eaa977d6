/// Whether a request's `Content-Type` says JSON: `application/json`, any case, with or without
/// parameters (`; charset=utf-8`).
///
/// Required on every state-changing request: a page on another origin can send a "simple"
/// cross-origin POST (`text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data`)
/// without asking first, but not one with this type, which needs a CORS preflight the server
/// never grants.
enum JSONMediaType {
    static func matches(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let essence = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return essence.trimmingSpaces.lowercased() == "application/json"
    }
}

extension Substring {
    /// Without the spaces and tabs HTTP allows around a header's parts.
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
