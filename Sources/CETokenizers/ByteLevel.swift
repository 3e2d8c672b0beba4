/// tokenizers `pre_tokenizers::byte_level`: the GPT-2 split regex, written out by hand, and the byte-to-char
/// alphabet that turns every UTF-8 byte of a word into one printable scalar.
enum ByteLevel {
    /// GPT-2 `bytes_to_unicode`: bytes `!`..`~`, U+00A1..U+00AC and U+00AE..U+00FF stand for themselves; the
    /// other 68 bytes (0x00..0x20, 0x7F..0xA0, 0xAD), in increasing order, map to U+0100, U+0101, ...
    static let byteChar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
            if printable {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte-level form of `word`: each UTF-8 byte becomes `byteChar[byte]`.
    static func encode(_ word: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(word.count * 2)
        var utf8: [UInt8] = []
        utf8.reserveCapacity(4)
        for s in word {
            if s.value < 0x80 {
                out.append(byteChar[Int(s.value)])
                continue
            }
            utf8.removeAll(keepingCapacity: true)
            ByteString.appendUTF8(s, to: &utf8)
            for b in utf8 { out.append(byteChar[Int(b)]) }
        }
        return out
    }

    @inline(__always)
    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 { return (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) }
        return CharClasses.contains(ByteLevelTables.letter, v)
    }

    @inline(__always)
    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 { return v >= 0x30 && v <= 0x39 }
        return CharClasses.contains(ByteLevelTables.number, v)
    }

    /// The three classes the regex distinguishes; `\s` is `char::is_whitespace` (same set as onig's `\s`).
    enum Class { case letter, number, space, other }

    @inline(__always)
    static func classify(_ s: Unicode.Scalar) -> Class {
        if isLetter(s) { return .letter }
        if isNumber(s) { return .number }
        if CharClasses.isWhitespace(s) { return .space }
        return .other
    }

    /// The matches of `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` in `s[piece]`,
    /// in order (onig leftmost-first alternation, greedy quantifiers). Every scalar is covered by exactly one
    /// match, so with `Isolated` behaviour the matches are the words.
    ///
    /// At a position: a contraction (ASCII apostrophe, case-sensitive) wins first; then an optional U+0020
    /// followed by a run of one class (letters, numbers, or "other" = neither space, letter nor number); else
    /// a whitespace run `i..<j`: all of it when it reaches the end, else all but its last scalar (the
    /// lookahead `(?!\S)` backs off one), or the single scalar when the run has length 1.
    static func split(_ s: [Unicode.Scalar], _ piece: Range<Int>, into out: inout [Range<Int>]) {
        var i = piece.lowerBound
        let end = piece.upperBound
        while i < end {
            let c = s[i]
            if c == "'" && i + 1 < end {
                let n1 = s[i + 1]
                if n1 == "s" || n1 == "t" || n1 == "m" || n1 == "d" {
                    out.append(i..<(i + 2))
                    i += 2
                    continue
                }
                if i + 2 < end {
                    let n2 = s[i + 2]
                    if (n1 == "r" && n2 == "e") || (n1 == "v" && n2 == "e") || (n1 == "l" && n2 == "l") {
                        out.append(i..<(i + 3))
                        i += 3
                        continue
                    }
                }
            }
            var start = i
            var runClass = classify(c)
            if c == " " && i + 1 < end {
                let nextClass = classify(s[i + 1])
                if nextClass != .space {
                    start = i
                    i += 1
                    runClass = nextClass
                }
            }
            if runClass != .space {
                while i < end && classify(s[i]) == runClass { i += 1 }
                out.append(start..<i)
                continue
            }
            var j = i
            while j < end && CharClasses.isWhitespace(s[j]) { j += 1 }
            if j == end || j - i == 1 {
                out.append(i..<j)
                i = j
            } else {
                out.append(i..<(j - 1))
                i = j - 1
            }
        }
    }
}
