import COpenSSL
import Glibc

/// One key from a `--jwt-key` file: a PEM public key (EdDSA with Ed25519, or ES256 with P-256)
/// or, for any other file, an HS256 secret (the file's bytes, a trailing newline dropped).
/// Every check goes through libcrypto; nothing here computes a signature by hand.
public final class VerificationKey: @unchecked Sendable {
    // @unchecked: the EVP_PKEY is only read after `init`; libcrypto allows concurrent
    // verifications with one key, each with its own EVP_MD_CTX.

    public enum Algorithm: String, Sendable {
        case hs256 = "HS256"
        case edDSA = "EdDSA"
        case es256 = "ES256"
    }

    /// The file's base name without its extension: what a token's `kid` names.
    public let id: String
    public let algorithm: Algorithm
    private let secret: [UInt8]
    private let publicKey: OpaquePointer?

    /// Reads the key at `path`.
    public convenience init(path: String) throws(TokenKeyError) {
        guard let file = fopen(path, "rb") else {
            throw TokenKeyError(path: path, "cannot read: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            bytes.append(contentsOf: chunk[..<count])
            if count < chunk.count { break }
            guard bytes.count <= 1 << 16 else { throw TokenKeyError(path: path, "larger than 64 KiB: not a key") }
        }
        guard ferror(file) == 0 else { throw TokenKeyError(path: path, "read error") }
        try self.init(id: Self.keyID(forPath: path), bytes: bytes, path: path)
    }

    /// A key from the contents of a file; `path` only names it in errors.
    public init(id: String, bytes: [UInt8], path: String = "<memory>") throws(TokenKeyError) {
        self.id = id
        if Self.isPEM(bytes) {
            let key = try Self.readPublicKey(bytes, path: path)
            switch EVP_PKEY_get_base_id(key) {
            case cpatchsync_pkey_ed25519():
                algorithm = .edDSA
            case cpatchsync_pkey_ec() where Self.curveName(of: key) == "prime256v1":
                algorithm = .es256
            default:
                EVP_PKEY_free(key)
                throw TokenKeyError(path: path, "a public key other than Ed25519 or EC P-256")
            }
            publicKey = key
            secret = []
        } else {
            var secret = bytes
            if secret.last == UInt8(ascii: "\n") { secret.removeLast() }
            if secret.last == UInt8(ascii: "\r") { secret.removeLast() }
            guard !secret.isEmpty else { throw TokenKeyError(path: path, "an empty HS256 secret") }
            algorithm = .hs256
            publicKey = nil
            self.secret = secret
        }
    }

    deinit {
        if let publicKey { EVP_PKEY_free(publicKey) }
    }

    /// Whether `signature` is this key's signature of `input` under its algorithm.
    public func verifies(_ signature: [UInt8], of input: [UInt8]) -> Bool {
        switch algorithm {
        case .hs256: return verifiesHMAC(signature, of: input)
        case .edDSA: return verifiesWithPublicKey(signature, of: input, digest: nil)
        case .es256:
            // JWS gives ECDSA signatures as raw r || s; libcrypto reads DER.
            guard let der = Self.derSignature(rawP256: signature) else { return false }
            return verifiesWithPublicKey(der, of: input, digest: EVP_sha256())
        }
    }

    private func verifiesHMAC(_ signature: [UInt8], of input: [UInt8]) -> Bool {
        guard signature.count == 32 else { return false }
        var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let computed = secret.withUnsafeBytes { key in
            input.withUnsafeBytes { data in
                HMAC(EVP_sha256(), key.baseAddress, Int32(key.count), data.bindMemory(to: UInt8.self).baseAddress,
                    data.count, &mac, &length)
            }
        }
        guard computed != nil, length == 32 else { return false }
        // Constant time: a timing must not tell how many leading bytes of a forgery were right.
        return CRYPTO_memcmp(mac, signature, 32) == 0
    }

    private func verifiesWithPublicKey(_ signature: [UInt8], of input: [UInt8], digest: OpaquePointer?) -> Bool {
        guard let publicKey, let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, digest, nil, publicKey) == 1 else { return false }
        return EVP_DigestVerify(context, signature, signature.count, input, input.count) == 1
    }

    /// DER `SEQUENCE { INTEGER r, INTEGER s }` for a 64-byte raw P-256 signature.
    static func derSignature(rawP256 raw: [UInt8]) -> [UInt8]? {
        guard raw.count == 64, let signature = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(signature) }
        guard let r = BN_bin2bn(raw, 32, nil) else { return nil }
        guard let s = raw[32...].withUnsafeBufferPointer({ BN_bin2bn($0.baseAddress, 32, nil) }) else {
            BN_free(r)
            return nil
        }
        guard ECDSA_SIG_set0(signature, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_ECDSA_SIG(signature, &out)
        guard length > 0, let out else { return nil }
        defer { CRYPTO_free(out, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }

    private static func isPEM(_ bytes: [UInt8]) -> Bool {
        let text = bytes.drop(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D })
        return text.starts(with: Array("-----BEGIN ".utf8))
    }

    private static func readPublicKey(_ bytes: [UInt8], path: String) throws(TokenKeyError) -> OpaquePointer {
        let text = String(decoding: bytes, as: UTF8.self)
        if text.contains("PRIVATE KEY-----") {
            throw TokenKeyError(path: path, "holds a private key; give the server only the public key")
        }
        let key: OpaquePointer? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        ERR_clear_error()
        guard let key else { throw TokenKeyError(path: path, "a PEM file that is not a readable public key") }
        return key
    }

    private static func curveName(of key: OpaquePointer) -> String? {
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(key, &name, name.count, &length) == 1 else { return nil }
        return String(decoding: name.prefix(min(length, name.count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `keys/line-3.pem` → `line-3`: the base name without its last extension.
    public static func keyID(forPath path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = base.lastIndex(of: "."), dot != base.startIndex else { return base }
        return String(base[..<dot])
    }
}

/// A `--jwt-key` file that cannot be used, and why.
public struct TokenKeyError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let message: String

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
