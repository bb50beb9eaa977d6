import CLibWebsockets

/// Reads request headers and URL arguments of a connection. Valid only while
/// lws still holds the headers (HTTP and FILTER_PROTOCOL_CONNECTION callbacks).
struct RequestHeaders {
    let wsi: OpaquePointer

    func value(_ token: lws_token_indexes) -> String? {
        let length = Int(lws_hdr_total_length(wsi, token))
        guard length > 0 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            let copied = lws_hdr_copy(wsi, buffer.baseAddress, Int32(length + 1), token)
            guard copied >= 0 else { return nil }
            return Self.string(buffer.baseAddress, count: Int(copied))
        }
    }

    /// The URL arguments (`?a=1&b=2`), URL-decoded by lws.
    func queryArguments() -> [(name: String, value: String)] {
        queryFragments().map { fragment in
            guard let equals = fragment.firstIndex(of: "=") else { return (fragment, "") }
            return (String(fragment[..<equals]), String(fragment[fragment.index(after: equals)...]))
        }
    }

    /// The query's pieces as lws split them (at `&` and `;`), URL-decoded: `name=value` each.
    func queryFragments() -> [String] {
        let total = Int(lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS))
        guard total > 0 else { return [] }
        var fragments: [String] = []
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: total + 1) { buffer in
            var index: Int32 = 0
            while true {
                let copied = lws_hdr_copy_fragment(
                    wsi, buffer.baseAddress, Int32(total + 1), WSI_TOKEN_HTTP_URI_ARGS, index)
                guard copied >= 0 else { break }
                fragments.append(Self.string(buffer.baseAddress, count: Int(copied)))
                index += 1
            }
        }
        return fragments
    }

    /// Nil when the request line is well formed and the query unambiguous; see `RequestTarget`.
    func targetRefusal() -> RequestTarget.Refusal? {
        RequestTarget.check(httpVersion: value(WSI_TOKEN_HTTP), queryFragments: queryFragments())
    }

    func queryArgument(_ name: String) -> String? {
        queryArguments().first(where: { $0.name == name })?.value
    }

    /// The socket peer's address, without reverse DNS.
    func peerAddress() -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 128) { buffer in
            buffer.initialize(repeating: 0)
            guard lws_get_peer_simple(wsi, buffer.baseAddress, 128) != nil else { return "" }
            return String(cString: buffer.baseAddress!)
        }
    }

    private static func string(_ pointer: UnsafeMutablePointer<CChar>?, count: Int) -> String {
        guard let pointer, count > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: count), as: UTF8.self)
    }
}
