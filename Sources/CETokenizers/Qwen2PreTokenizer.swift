/// tokenizers `Split(Regex(P), behavior: Isolated, invert: false)` for Qwen2's pattern P (transformers 5.23
/// `models/qwen2/tokenization_qwen2.py` PRETOKENIZE_REGEX, also in every Qwen2/Qwen3 hub tokenizer.json):
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// matched by hand with onig's leftmost-first alternation and greedy quantifiers. Every scalar lies in exactly one
/// match, so the matches are the words. Classes as ByteLevel's (`\p{L}`, `\p{N}` from the reference's tables, `\s`
/// onig's White_Space).
enum Qwen2Split {
    /// The pattern as tokenizer.json spells it.
    static let pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    @inline(__always)
    static func isNewline(_ s: Unicode.Scalar) -> Bool { s == "\r" || s == "\n" }

    /// onig's simple case folding of the contraction letters: S and ſ (U+017F) fold to s, the others to their lower case.
    static func folded(_ s: Unicode.Scalar) -> Unicode.Scalar {
        if s == "\u{017F}" { return "s" }
        if s.value >= 0x41 && s.value <= 0x5A { return Unicode.Scalar(s.value + 0x20)! }
        return s
    }

    /// Length of the contraction `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at i, or 0.
    static func contraction(_ s: [Unicode.Scalar], _ i: Int, _ end: Int) -> Int {
        guard s[i] == "'", i + 1 < end else { return 0 }
        let a = folded(s[i + 1])
        if a == "s" || a == "t" || a == "m" || a == "d" { return 2 }
        guard i + 2 < end else { return 0 }
        let b = folded(s[i + 2])
        return (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") ? 3 : 0
    }

    /// End of the match at i (i < end): the first alternative that matches there.
    static func match(_ s: [Unicode.Scalar], _ i: Int, _ end: Int) -> Int {
        let n = contraction(s, i, end)
        if n > 0 { return i + n }
        let c = ByteLevel.classify(s[i])
        // [^\r\n\p{L}\p{N}]?\p{L}+
        var j = c == .letter ? i : (c != .number && !isNewline(s[i]) && i + 1 < end && ByteLevel.isLetter(s[i + 1]) ? i + 1 : -1)
        if j >= 0 {
            while j < end && ByteLevel.isLetter(s[j]) { j += 1 }
            return j
        }
        if c == .number { return i + 1 }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        j = s[i] == " " && i + 1 < end && ByteLevel.classify(s[i + 1]) == .other ? i + 1 : i
        if ByteLevel.classify(s[j]) == .other {
            while j < end && ByteLevel.classify(s[j]) == .other { j += 1 }
            while j < end && isNewline(s[j]) { j += 1 }
            return j
        }
        // s[i] is whitespace: `\s*[\r\n]+` ends at the run's last CR/LF; else `\s+(?!\S)` backs off one before a
        // non-space; else `\s+`.
        var r = i
        while r < end && CharClasses.isWhitespace(s[r]) { r += 1 }
        if let last = (i..<r).last(where: { isNewline(s[$0]) }) { return last + 1 }
        if r == end || r - i == 1 { return r }
        return r - 1
    }

    static func split(_ s: [Unicode.Scalar], _ piece: Range<Int>, into out: inout [Range<Int>]) {
        var i = piece.lowerBound
        while i < piece.upperBound {
            let j = match(s, i, piece.upperBound)
            out.append(i..<j)
            i = j
        }
    }
}
