#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Character classes and per-scalar maps as HF tokenizers (Rust) defines them. Rust works on `char`
/// (a Unicode scalar value), so everything here is per `Unicode.Scalar`.
enum CharClasses {
    /// Binary search in a flat sorted range table [lo0, hi0, lo1, hi1, ...].
    @inline(__always)
    static func contains(_ table: [UInt32], _ v: UInt32) -> Bool {
        var lo = 0
        var hi = table.count / 2  // number of ranges
        while lo < hi {
            let mid = (lo + hi) / 2
            if v < table[2 * mid] {
                hi = mid
            } else if v > table[2 * mid + 1] {
                lo = mid + 1
            } else {
                return true
            }
        }
        return false
    }

    /// Rust `char::is_whitespace` (White_Space property).
    @inline(__always)
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 { return v == 0x20 || (v >= 0x09 && v <= 0x0D) }
        return contains(UnicodeTables.whitespace, v)
    }

    /// BertPreTokenizer / Punctuation: ASCII punctuation or Unicode P* (unicode_categories tables).
    @inline(__always)
    static func isBertPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            return (v >= 0x21 && v <= 0x2F) || (v >= 0x3A && v <= 0x40) || (v >= 0x5B && v <= 0x60)
                || (v >= 0x7B && v <= 0x7E)
        }
        return contains(UnicodeTables.bertPunctuation, v)
    }

    /// BertNormalizer clean_text: the scalar is deleted.
    @inline(__always)
    static func isBertRemoved(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v >= 0x20 && v < 0x7F { return false }
        return contains(UnicodeTables.bertRemoved, v)
    }

    /// BertNormalizer clean_text: the scalar becomes U+0020.
    @inline(__always)
    static func isBertCleanWhitespace(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 { return v == 0x09 || v == 0x0A || v == 0x0D }
        return contains(UnicodeTables.bertCleanWhitespace, v)
    }

    /// BertNormalizer `is_chinese_char`.
    @inline(__always)
    static func isChinese(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x3400 { return false }
        return contains(UnicodeTables.chinese, v)
    }

    /// unicode_categories `is_mark_nonspacing` (Mn): BertNormalizer strip_accents.
    @inline(__always)
    static func isNonspacingMark(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x300 { return false }
        return contains(UnicodeTables.nonspacingMark, v)
    }

    /// unicode-normalization `is_combining_mark` (M*): the StripAccents normalizer.
    @inline(__always)
    static func isCombiningMark(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x300 { return false }
        return contains(UnicodeTables.combiningMark, v)
    }

    /// `\w` of the onig regex used by the Whitespace pre-tokenizer.
    @inline(__always)
    static func isOnigWord(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
        }
        return contains(UnicodeTables.onigWord, v)
    }

    /// `\w` of the Rust regex crate (Unicode): Alphabetic, M*, Nd, Pc, Join_Control.
    /// Used by AddedToken single_word.
    static func isRegexWord(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
        }
        let p = s.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            return true
        default:
            return false
        }
    }

    /// Rust `char::to_lowercase` (full mapping, may expand; no context-dependent rules), appended to `out`.
    /// Swift's `lowercaseMapping` agrees with it on every scalar (checked exhaustively against tokenizers 0.23.3).
    @inline(__always)
    static func appendLowercase(_ s: Unicode.Scalar, to out: inout [Unicode.Scalar]) {
        let v = s.value
        if v < 0x80 {
            if v >= 0x41 && v <= 0x5A {
                out.append(Unicode.Scalar(v + 0x20)!)
            } else {
                out.append(s)
            }
            return
        }
        let mapped = s.properties.lowercaseMapping.unicodeScalars
        out.append(contentsOf: mapped)
    }

    /// Scalars that unicode-normalization-alignments (the crate tokenizers uses) leaves alone while
    /// Foundation's newer Unicode data decomposes them (exhaustive probe of tokenizers 0.23.3).
    /// All are starters (ccc 0). NFD: canonical; NFKD/NFKC: compatibility. NFC differs nowhere.
    static let canonicalKeep: [UInt32] = [0x11938, 0x11938]
    static let compatibilityKeep: [UInt32] = [
        0x32FF, 0x32FF, 0xA7F2, 0xA7F4, 0xAB69, 0xAB69, 0x10781, 0x10785, 0x10787, 0x107B0, 0x107B2, 0x107BA,
        0x11938, 0x11938, 0x1E030, 0x1E06D, 0x1F16C, 0x1F16C, 0x1FBF0, 0x1FBF9,
    ]
}

/// Unicode normalization forms, via Foundation, on scalar arrays.
enum UnicodeNormalization {
    enum Form { case nfd, nfc, nfkd, nfkc }

    static func apply(_ form: Form, _ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        // Below U+00C0 every scalar is its own NFD/NFC/NFKD/NFKC (except the compatibility-decomposable
        // U+00A0, U+00A8, U+00AA, U+00AF, U+00B2..U+00B5, U+00B8..U+00BE), so the fast path is exact.
        var fast = true
        for s in scalars {
            let v = s.value
            if v >= 0xC0 || ((form == .nfkd || form == .nfkc) && v >= 0xA0) {
                fast = false
                break
            }
        }
        if fast { return scalars }
        let keep: [UInt32]
        switch form {
        case .nfd: keep = CharClasses.canonicalKeep
        case .nfkd, .nfkc: keep = CharClasses.compatibilityKeep
        case .nfc: keep = []
        }
        if !keep.isEmpty, scalars.contains(where: { $0.value >= 0x32FF && CharClasses.contains(keep, $0.value) }) {
            // The kept scalars are starters (ccc 0): normalize the runs between them independently.
            var out: [Unicode.Scalar] = []
            out.reserveCapacity(scalars.count)
            var run: [Unicode.Scalar] = []
            for s in scalars {
                if CharClasses.contains(keep, s.value) {
                    out.append(contentsOf: foundation(form, run))
                    run.removeAll(keepingCapacity: true)
                    out.append(s)
                } else {
                    run.append(s)
                }
            }
            out.append(contentsOf: foundation(form, run))
            return out
        }
        return foundation(form, scalars)
    }

    private static func foundation(_ form: Form, _ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        if scalars.isEmpty { return [] }
        #if canImport(FoundationEssentials)
        return TableNormalization.apply(form, scalars)
        #else
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        let s = String(view)
        let r: String
        switch form {
        case .nfd: r = s.decomposedStringWithCanonicalMapping
        case .nfc: r = s.precomposedStringWithCanonicalMapping
        case .nfkd: r = s.decomposedStringWithCompatibilityMapping
        case .nfkc: r = s.precomposedStringWithCompatibilityMapping
        }
        return Array(r.unicodeScalars)
        #endif
    }
}
