import CLibWebsockets
import Glibc
import SystemSupport

/// Whom a client trusts on `wss://` and `https://`: the system's certificate authorities and,
/// when set, those of one PEM file (a private CA). The certificate and the host name it names
/// are always checked.
public struct ClientTLSConfiguration: Sendable, Hashable {
    /// A PEM file of certificate authorities trusted besides the system's; nil trusts the
    /// system's only.
    public var caFilePath: String?

    public init(caFilePath: String? = nil) {
        self.caFilePath = caFilePath
    }

    /// Why the CA file cannot be used, or nil. Checked up front because libwebsockets only logs
    /// a file it cannot load and then refuses every certificate, which would hide the cause.
    func caFileProblem() -> String? {
        guard let caFilePath else { return nil }
        do {
            let descriptor = try SystemCall.retryingInterrupts("open") { open(caFilePath, O_RDONLY | O_CLOEXEC) }
            defer { close(descriptor) }
            var byte: UInt8 = 0
            let count = try SystemCall.retryingInterrupts("read") { read(descriptor, &byte, 1) }
            return count == 0 ? "the file is empty" : nil
        } catch {
            return error.description
        }
    }

    /// Why a certificate for `host` cannot be checked, or nil. libwebsockets 4.1 takes the name
    /// to check from the Host header, cut at the first `:`, which leaves `[` of an IPv6 address.
    static func uncheckableHostProblem(_ host: String) -> String? {
        host.contains(":") ? "a certificate cannot be checked for an IPv6 address with libwebsockets 4.1; use a host name" : nil
    }

    /// Runs `body` (which creates the context) with `info` set up for client TLS. The CA path is
    /// valid during the call only: libwebsockets reads the file while it creates the context.
    func withContextInfo<Result>(
        _ info: inout lws_context_creation_info, _ body: (inout lws_context_creation_info) -> Result
    ) -> Result {
        info.options |= UInt64(LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT)
        guard let caFilePath else { return body(&info) }
        return caFilePath.withCString { path in
            info.client_ssl_ca_filepath = path
            defer { info.client_ssl_ca_filepath = nil }
            return body(&info)
        }
    }
}
