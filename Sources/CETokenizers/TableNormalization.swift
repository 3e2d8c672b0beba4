/// NFD / NFC / NFKD / NFKC (UAX #15) from NormalizationTables, for builds without full Foundation (its String
/// normalization needs ICU): full decomposition per scalar, canonical ordering by combining class, then
/// canonical composition for NFC / NFKC; Hangul syllables by the algorithm of Unicode's chapter 3.12.
enum TableNormalization {
    static let sBase: UInt32 = 0xAC00, lBase: UInt32 = 0x1100, vBase: UInt32 = 0x1161, tBase: UInt32 = 0x11A7
    static let lCount: UInt32 = 19, vCount: UInt32 = 21, tCount: UInt32 = 28
    static let nCount = vCount * tCount, sCount = lCount * vCount * tCount

    static func apply(_ form: UnicodeNormalization.Form, _ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let compatibility = form == .nfkd || form == .nfkc
        var out: [UInt32] = []
        out.reserveCapacity(scalars.count + 8)
        for s in scalars { decompose(s.value, compatibility: compatibility, into: &out) }
        reorder(&out)
        if form == .nfc || form == .nfkc { out = compose(out) }
        return out.map { Unicode.Scalar($0)! }   // every value is a table entry or a Hangul jamo / syllable
    }

    static func decompose(_ v: UInt32, compatibility: Bool, into out: inout [UInt32]) {
        if v >= sBase, v < sBase + sCount {
            let i = v - sBase
            out.append(lBase + i / nCount)
            out.append(vBase + (i % nCount) / tCount)
            if i % tCount != 0 { out.append(tBase + i % tCount) }
            return
        }
        if compatibility, let r = lookup(NormalizationTables.compatibilityKeys, v) {
            let t = NormalizationTables.self
            out.append(contentsOf: t.compatibilityData[Int(t.compatibilityStarts[r])..<Int(t.compatibilityStarts[r + 1])])
        } else if let r = lookup(NormalizationTables.canonicalKeys, v) {
            let t = NormalizationTables.self
            out.append(contentsOf: t.canonicalData[Int(t.canonicalStarts[r])..<Int(t.canonicalStarts[r + 1])])
        } else {
            out.append(v)
        }
    }

    /// The index of `v` in the ascending `keys`.
    static func lookup(_ keys: [UInt32], _ v: UInt32) -> Int? {
        var lo = 0, hi = keys.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if keys[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo < keys.count && keys[lo] == v ? lo : nil
    }

    static func combiningClass(_ v: UInt32) -> UInt32 {
        if v < 0x300 { return 0 }
        let t = NormalizationTables.combiningClasses
        var lo = 0, hi = t.count / 3
        while lo < hi {
            let mid = (lo + hi) / 2
            if v < t[3 * mid + 1] { hi = mid } else if v > t[3 * mid + 2] { lo = mid + 1 } else { return t[3 * mid] }
        }
        return 0
    }

    /// Canonical ordering: each run of non-starters stably sorted by combining class.
    static func reorder(_ s: inout [UInt32]) {
        var i = 0
        while i < s.count {
            guard combiningClass(s[i]) != 0 else { i += 1; continue }
            var j = i
            while j < s.count, combiningClass(s[j]) != 0 { j += 1 }
            if j - i > 1 {
                let run = s[i..<j].enumerated().sorted {
                    let a = combiningClass($0.element), b = combiningClass($1.element)
                    return a != b ? a < b : $0.offset < $1.offset
                }
                s.replaceSubrange(i..<j, with: run.map(\.element))
            }
            i = j
        }
    }

    /// Canonical composition of a decomposed, ordered sequence (UAX #15's algorithm: a character joins the last
    /// starter when nothing between them has a combining class as high as its own).
    static func compose(_ s: [UInt32]) -> [UInt32] {
        guard let first = s.first else { return [] }
        var out = [first]
        var starterIndex = 0
        var lastClass: Int = combiningClass(first) == 0 ? 0 : 256
        for c in s.dropFirst() {
            let cc = Int(combiningClass(c))
            if lastClass < cc || lastClass == 0, let composite = pair(out[starterIndex], c) {
                out[starterIndex] = composite
                continue
            }
            if cc == 0 { starterIndex = out.count }
            lastClass = cc
            out.append(c)
        }
        return out
    }

    /// The primary composite of (a, b), Hangul included.
    static func pair(_ a: UInt32, _ b: UInt32) -> UInt32? {
        if a >= lBase, a < lBase + lCount, b >= vBase, b < vBase + vCount {
            return sBase + ((a - lBase) * vCount + (b - vBase)) * tCount
        }
        if a >= sBase, a < sBase + sCount, (a - sBase) % tCount == 0, b > tBase, b < tBase + tCount {
            return a + (b - tBase)
        }
        let t = NormalizationTables.compositions
        var lo = 0, hi = t.count / 3
        while lo < hi {
            let mid = (lo + hi) / 2
            let (x, y) = (t[3 * mid], t[3 * mid + 1])
            if x < a || (x == a && y < b) { lo = mid + 1 } else { hi = mid }
        }
        return lo < t.count / 3 && t[3 * lo] == a && t[3 * lo + 1] == b ? t[3 * lo + 2] : nil
    }
}
