import CLibWebsockets

/// Why OpenSSL refused a server's certificate, read in libwebsockets'
/// `LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION`: lws itself only reports a bare
/// "connect SSL err 1" when the handshake then fails.
enum CertificateRefusal {
    /// OpenSSL's reason, or nil when it accepted this certificate. `store` is the callback's
    /// `user` (the X509_STORE_CTX), `verdict` its `len` (OpenSSL's preverify_ok).
    static func reason(store: UnsafeMutableRawPointer?, verdict: Int) -> String? {
        guard verdict == 0, let store else { return nil }
        let code = X509_STORE_CTX_get_error(OpaquePointer(store))
        return "the server's certificate was refused: " + String(cString: X509_verify_cert_error_string(Int(code)))
    }
}
