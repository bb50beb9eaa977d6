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
        let total = Int(lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS))
        guard total > 0 else { return [] }
        var arguments: [(name: String, value: String)] = []
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: total + 1) { buffer in
            var index: Int32 = 0
            while true {
                let copied = lws_hdr_copy_fragment(
                    wsi, buffer.baseAddress, Int32(total + 1), WSI_TOKEN_HTTP_URI_ARGS, index)
                guard copied >= 0 else { break }
                let fragment = Self.string(buffer.baseAddress, count: Int(copied))
                if let equals = fragment.firstIndex(of: "=") {
                    let name = String(fragment[..<equals])
                    let value = String(fragment[fragment.index(after: equals)...])
                    arguments.append((name, value))
                } else {
                    arguments.append((fragment, ""))
                }
                index += 1
            }
        }
        return arguments
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
