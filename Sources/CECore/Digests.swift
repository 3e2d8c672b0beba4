import Crypto

// SHA-256 and SHA-1 come from swift-crypto (apple/swift-crypto: BoringSSL's implementations on Linux,
// CryptoKit's on Apple platforms). These wrappers keep the streaming shape the writers use
// (update, then finalize once) and the lowercase-hex spelling every manifest, report and golden carries.

/// SHA-256 (FIPS 180-4), streaming. Digests of checkpoints, artifacts, packages and reports.
public struct SHA256: Sendable {
    private var hasher = Crypto.SHA256()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        Array(bytes).withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest.
    public mutating func finalize() -> [UInt8] { Array(hasher.finalize()) }

    /// Lowercase hex digest of `bytes`.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var s = SHA256()
        s.update(bytes)
        return hexString(s.finalize())
    }

    public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        Array(bytes).withUnsafeBytes { hex($0) }
    }

    /// SHA-256 (hex) of a whole file, read through a memory mapping (`hex(of:)`).
    public static func hex(ofFile path: String) throws -> String {
        hex(of: try MappedFile(path: path))
    }

    /// SHA-256 (hex) of a mapped file, 8 MiB at a time, each part's pages let go once hashed: hashing a checkpoint of
    /// several GB does not leave it resident in the process (convert hashes its source while holding the model).
    public static func hex(of file: MappedFile) -> String {
        var h = SHA256()
        let bytes = file.bytes, chunk = 8 << 20
        var offset = 0
        while offset < bytes.count {
            let part = UnsafeRawBufferPointer(rebasing: bytes[offset..<min(bytes.count, offset + chunk)])
            h.update(part)
            file.releasePages(part)
            offset += chunk
        }
        return hexString(h.finalize())
    }

    /// Lowercase hex spelling of a digest.
    public static func hexString(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(digest.count * 2)
        for b in digest { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// SHA-1, streaming. Only for git object ids (the etag of a non-LFS file in a HuggingFace hub cache is its
/// git blob id); never as an integrity check.
public struct SHA1: Sendable {
    private var hasher = Insecure.SHA1()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        Array(bytes).withUnsafeBytes { update($0) }
    }

    /// The 20-byte digest.
    public mutating func finalize() -> [UInt8] { Array(hasher.finalize()) }

    /// Lowercase hex digest of `bytes`.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var s = SHA1()
        s.update(bytes)
        return SHA256.hexString(s.finalize())
    }

    public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        Array(bytes).withUnsafeBytes { hex($0) }
    }

    /// The git object id of a blob: SHA-1 of `"blob <size>\0"` followed by the content.
    public static func gitBlobID(_ content: UnsafeRawBufferPointer) -> String {
        var s = SHA1()
        s.update(Array("blob \(content.count)".utf8) + [0])
        s.update(content)
        return SHA256.hexString(s.finalize())
    }
}
