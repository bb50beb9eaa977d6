/// Splits raw HTTP/1.1 response bytes into status, headers and body
/// (by `Content-Length`, chunked transfer coding, or up to the end of the connection).
enum HTTPResponseParser {
    private static let headerEnd: [UInt8] = [13, 10, 13, 10]

    /// Whether `bytes` already hold the whole response, so reading may stop before the peer closes.
    static func isComplete(_ bytes: [UInt8]) -> Bool {
        guard let end = headerEndIndex(bytes),
            let head = try? parseHead(bytes[..<end]),
            let length = head.header("content-length").flatMap({ Int($0) })
        else { return false }
        return bytes.count - (end + 4) >= length
    }

    static func parse(_ bytes: [UInt8], from url: HTTPURL) throws(HTTPClientError) -> HTTPClient.Response {
        func invalid(_ why: String) -> HTTPClientError {
            HTTPClientError(.invalidResponse, "invalid response from \(url.hostHeader): \(why)")
        }
        guard !bytes.isEmpty else { throw invalid("the connection closed without an answer") }
        guard let end = headerEndIndex(bytes) else { throw invalid("the headers never end") }
        guard var response = try? parseHead(bytes[..<end]) else { throw invalid("malformed status line or header") }
        let rest = bytes[(end + 4)...]
        if response.header("transfer-encoding")?.lowercased().contains("chunked") == true {
            guard let body = decodeChunked(rest) else { throw invalid("malformed chunked body") }
            response.body = body
        } else if let lengthText = response.header("content-length") {
            guard let length = Int(lengthText), length >= 0 else { throw invalid("bad Content-Length '\(lengthText)'") }
            guard rest.count >= length else {
                throw invalid("the body ends after \(rest.count) of \(length) bytes")
            }
            response.body = Array(rest.prefix(length))
        } else {
            response.body = Array(rest)
        }
        return response
    }

    private static func headerEndIndex(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index..<(index + 4)].elementsEqual(headerEnd) {
            return index
        }
        return nil
    }

    private struct MalformedHead: Error {}

    private static func parseHead(_ head: ArraySlice<UInt8>) throws(MalformedHead) -> HTTPClient.Response {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)[...]
        guard let statusLine = lines.popFirst() else { throw MalformedHead() }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...999).contains(status)
        else { throw MalformedHead() }
        var headers: [HTTPClient.Header] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw MalformedHead() }
            let value = line[line.index(after: colon)...].drop(while: { $0 == " " || $0 == "\t" })
            headers.append(HTTPClient.Header(name: String(line[..<colon]), value: String(value)))
        }
        return HTTPClient.Response(status: status, headers: headers, body: [])
    }

    /// `size CRLF data CRLF ... 0 CRLF [trailers] CRLF`; nil when malformed or cut short.
    private static func decodeChunked(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
        var body: [UInt8] = []
        var cursor = bytes.startIndex
        while true {
            guard let lineEnd = bytes[cursor...].firstIndex(of: 13), lineEnd + 1 < bytes.endIndex,
                bytes[lineEnd + 1] == 10
            else { return nil }
            let sizeText = String(decoding: bytes[cursor..<lineEnd], as: UTF8.self)
                .split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingSpaces(), radix: 16), size >= 0 else { return nil }
            cursor = lineEnd + 2
            if size == 0 { return body }
            guard bytes.endIndex - cursor >= size + 2 else { return nil }
            body.append(contentsOf: bytes[cursor..<(cursor + size)])
            cursor += size + 2
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var view = Substring(self)
        while view.first == " " || view.first == "\t" { view.removeFirst() }
        while view.last == " " || view.last == "\t" { view.removeLast() }
        return String(view)
    }
}
