#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// A SentencePiece `precompiled_charsmap` (tokenizers normalizer "Precompiled", base64 in tokenizer.json), read
/// and applied as tokenizers 0.23.3 does through the `spm_precompiled` crate.
///
/// Layout (little-endian): `u32 trieBytes`, then `trieBytes / 4` u32 units of a darts-clone double-array trie
/// over UTF-8 keys, then the normalized strings, each terminated by a NUL byte. A key's value is the byte
/// offset of its replacement in that blob.
struct PrecompiledCharsMap: Equatable, Sendable {
    let units: [UInt32]
    let normalized: [UInt8]

    /// Cap on the decoded charsmap (rule 1); real ones are ~240 KB (nmt_nfkc) to ~1 MB.
    static let maxBytes = 64 << 20

    init(bytes: [UInt8], field: String, file: String = TokenizerJSON.file) throws {
        func bad(_ reason: String) -> TokenizerError {
            TokenizerError.invalidField(file: file, field: field, reason: reason)
        }
        guard bytes.count <= PrecompiledCharsMap.maxBytes else { throw bad("larger than \(PrecompiledCharsMap.maxBytes) bytes") }
        guard bytes.count >= 4 else { throw bad("shorter than its 4-byte trie size") }
        let trieBytes = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        guard trieBytes <= bytes.count - 4 else { throw bad("trie size \(trieBytes) exceeds the \(bytes.count - 4) bytes that follow") }
        let count = trieBytes / 4
        // spm_precompiled reads unit 0 on every lookup; an empty trie panics there.
        guard count > 0 else { throw bad("empty trie") }
        var units = [UInt32](repeating: 0, count: count)
        for n in 0..<count {
            let o = 4 + 4 * n
            units[n] = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        let blob = Array(bytes[(4 + trieBytes)...])
        guard String(validating: blob, as: UTF8.self) != nil else { throw bad("normalized strings are not UTF-8") }
        self.units = units
        self.normalized = blob
    }

    /// From the base64 text of tokenizer.json (standard alphabet, padding optional as the Rust `base64` crate's
    /// default engine accepts it).
    init(base64: String, field: String) throws {
        var text = base64
        let rem = text.utf8.count % 4
        if rem == 2 { text += "==" } else if rem == 3 { text += "=" }
        guard let data = Data(base64Encoded: text) else {
            throw TokenizerError.invalidField(file: TokenizerJSON.file, field: field, reason: "not base64")
        }
        try self.init(bytes: [UInt8](data), field: field)
    }

    // darts-clone unit fields, as spm_precompiled decodes them.
    @inline(__always) private static func hasLeaf(_ u: UInt32) -> Bool { (u >> 8) & 1 == 1 }
    @inline(__always) private static func value(_ u: UInt32) -> UInt32 { u & ((1 << 31) - 1) }
    @inline(__always) private static func label(_ u: UInt32) -> UInt32 { u & ((1 << 31) | 0xFF) }
    @inline(__always) private static func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }

    /// `DoubleArray::common_prefix_search` reduced to its first result: the value of the **shortest** prefix of
    /// `key` that is a key of the trie (the search stops at a NUL byte). An index outside the array ends the
    /// search (the crate would panic there).
    func firstPrefixValue<C: Collection>(_ key: C) -> Int? where C.Element == UInt8 {
        var pos = 0
        var unit = units[0]
        pos ^= PrecompiledCharsMap.offset(unit)
        for c in key {
            if c == 0 { break }
            pos ^= Int(c)
            guard pos < units.count else { return nil }
            unit = units[pos]
            if PrecompiledCharsMap.label(unit) != UInt32(c) { return nil }
            pos ^= PrecompiledCharsMap.offset(unit)
            guard pos < units.count else { return nil }
            if PrecompiledCharsMap.hasLeaf(unit) { return Int(PrecompiledCharsMap.value(units[pos])) }
        }
        return nil
    }

    /// `Precompiled::transform`: the replacement (up to the next NUL) of the shortest matching prefix of `chunk`,
    /// or nil. A replacement that does not start on a UTF-8 boundary counts as no match (Rust would panic).
    func transform<C: Collection>(_ chunk: C) -> [Unicode.Scalar]? where C.Element == UInt8 {
        guard let start = firstPrefixValue(chunk), start <= normalized.count else { return nil }
        var end = start
        while end < normalized.count && normalized[end] != 0 { end += 1 }
        guard let s = String(validating: normalized[start..<end], as: UTF8.self) else { return nil }
        return Array(s.unicodeScalars)
    }

    /// tokenizers `Precompiled::normalize`: for each extended grapheme cluster, if it is shorter than 6 UTF-8
    /// bytes and has a matching prefix, the whole cluster becomes that prefix's replacement; otherwise each
    /// scalar is replaced by its own match, or kept.
    func normalize(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var text = String()
        text.unicodeScalars.append(contentsOf: input)
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(input.count)
        var bytes: [UInt8] = []
        for grapheme in text {
            bytes.removeAll(keepingCapacity: true)
            for s in grapheme.unicodeScalars { ByteString.appendUTF8(s, to: &bytes) }
            if bytes.count < 6, let whole = transform(bytes) {
                out.append(contentsOf: whole)
                continue
            }
            for s in grapheme.unicodeScalars {
                bytes.removeAll(keepingCapacity: true)
                ByteString.appendUTF8(s, to: &bytes)
                if let part = transform(bytes) {
                    out.append(contentsOf: part)
                } else {
                    out.append(s)
                }
            }
        }
        return out
    }

    /// Whether the first scalar of `input` is deleted (its cluster, or the scalar itself, maps to "").
    func deletesFirst(_ input: [Unicode.Scalar]) -> Bool {
        guard !input.isEmpty else { return false }
        var text = String()
        text.unicodeScalars.append(contentsOf: input.prefix(16))
        guard let grapheme = text.first else { return false }
        var bytes: [UInt8] = []
        for s in grapheme.unicodeScalars { ByteString.appendUTF8(s, to: &bytes) }
        if bytes.count < 6, let whole = transform(bytes) { return whole.isEmpty }
        bytes.removeAll()
        ByteString.appendUTF8(input[0], to: &bytes)
        return transform(bytes)?.isEmpty ?? false
    }
}
