/// A UTF-8 byte string used as a dictionary key. Compares and hashes bytes, like Rust's `String`
/// (Swift `String` compares by canonical equivalence, which HF tokenizers does not).
struct ByteString: Hashable, Sendable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }
    init(_ string: String) { self.bytes = Array(string.utf8) }
    init<S: Sequence>(scalars: S) where S.Element == Unicode.Scalar {
        var b: [UInt8] = []
        for s in scalars { ByteString.appendUTF8(s, to: &b) }
        self.bytes = b
    }

    static func == (a: ByteString, b: ByteString) -> Bool { a.bytes == b.bytes }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    @inline(__always)
    static func appendUTF8(_ s: Unicode.Scalar, to b: inout [UInt8]) {
        let v = s.value
        if v < 0x80 {
            b.append(UInt8(v))
        } else if v < 0x800 {
            b.append(UInt8(0xC0 | (v >> 6)))
            b.append(UInt8(0x80 | (v & 0x3F)))
        } else if v < 0x10000 {
            b.append(UInt8(0xE0 | (v >> 12)))
            b.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            b.append(UInt8(0x80 | (v & 0x3F)))
        } else {
            b.append(UInt8(0xF0 | (v >> 18)))
            b.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            b.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            b.append(UInt8(0x80 | (v & 0x3F)))
        }
    }
}
