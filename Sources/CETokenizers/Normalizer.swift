/// A normalizer stage (tokenizer.json "normalizer"). Operates on Unicode scalars, like Rust `char`s.
/// Offsets are not tracked: only the normalized text matters for ids.
indirect enum Normalizer: Equatable, Sendable {
    /// tokenizers: BertNormalizer. `stripAccents` is already resolved (JSON null means "= lowercase").
    case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool)
    /// tokenizers: Lowercase (`char::to_lowercase` per char).
    case lowercase
    case nfd, nfc, nfkd, nfkc
    /// tokenizers: StripAccents (removes combining marks M*; does not decompose first).
    case stripAccents
    /// tokenizers: Strip (trims `char::is_whitespace` at either end).
    case strip(left: Bool, right: Bool)
    /// tokenizers: Replace with a `{"String": ...}` pattern; non-overlapping, left to right.
    case replace(pattern: [Unicode.Scalar], content: [Unicode.Scalar])
    /// tokenizers: Replace with a `{"Regex": ...}` pattern of the one form we implement: a single scalar class
    /// repeated `min...max` times (`" {2,}"`, `"\\s+"`, ...); see `RepeatPattern`.
    case replaceRepeat(RepeatPattern, content: [Unicode.Scalar])
    /// tokenizers: Replace with the Regex `\s{2,}|[\n\r\t]` (DebertaV2Tokenizer's; DebertaV2Tokenizer.swift).
    case collapseWhitespace(content: [Unicode.Scalar])
    /// tokenizers: Prepend (only when the text is non-empty).
    case prepend([Unicode.Scalar])
    /// tokenizers: Precompiled (SentencePiece charsmap).
    case precompiled(PrecompiledCharsMap)
    case sequence([Normalizer])

    func normalize(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
        switch self {
        case let .bert(cleanText, handleChineseChars, stripAccents, lowercase):
            var s = input
            if cleanText { s = Normalizer.bertClean(s) }
            if handleChineseChars { s = Normalizer.padChinese(s) }
            if stripAccents {
                s = UnicodeNormalization.apply(.nfd, s)
                s.removeAll(where: CharClasses.isNonspacingMark)
            }
            if lowercase { s = Normalizer.lowercased(s) }
            return s
        case .lowercase:
            return Normalizer.lowercased(input)
        case .nfd: return UnicodeNormalization.apply(.nfd, input)
        case .nfc: return UnicodeNormalization.apply(.nfc, input)
        case .nfkd: return UnicodeNormalization.apply(.nfkd, input)
        case .nfkc: return UnicodeNormalization.apply(.nfkc, input)
        case .stripAccents:
            return input.filter { !CharClasses.isCombiningMark($0) }
        case let .strip(left, right):
            var lo = 0
            var hi = input.count
            if left { while lo < hi && CharClasses.isWhitespace(input[lo]) { lo += 1 } }
            if right { while hi > lo && CharClasses.isWhitespace(input[hi - 1]) { hi -= 1 } }
            return Array(input[lo..<hi])
        case let .replace(pattern, content):
            return Normalizer.replaceAll(input, pattern: pattern, with: content)
        case let .replaceRepeat(pattern, content):
            return pattern.replaceAll(input, with: content)
        case let .collapseWhitespace(content):
            return Normalizer.collapsingWhitespace(input, with: content)
        case let .prepend(prefix):
            return input.isEmpty ? input : prefix + input
        case let .precompiled(map):
            return map.normalize(input)
        case let .sequence(stages):
            var s = input
            for stage in stages { s = stage.normalize(s) }
            return s
        }
    }

    /// Whether the first scalar of `input` is deleted, so that the normalized text no longer starts at original
    /// offset 0 (tokenizers alignments; used by Metaspace `prepend_scheme: "first"`). Stages that only
    /// transform or insert keep the first output scalar aligned with original offset 0.
    func deletesFirst(_ input: [Unicode.Scalar]) -> Bool {
        guard let first = input.first else { return false }
        switch self {
        case let .bert(cleanText, _, stripAccents, _):
            if cleanText && CharClasses.isBertRemoved(first) { return true }
            if stripAccents {
                let s = cleanText ? Normalizer.bertClean(input) : input
                guard let f = s.first else { return true }
                return UnicodeNormalization.apply(.nfd, [f]).allSatisfy(CharClasses.isNonspacingMark)
            }
            return false
        case .stripAccents:
            return CharClasses.isCombiningMark(first)
        case let .strip(left, _):
            return left && CharClasses.isWhitespace(first)
        case let .replace(pattern, content):
            return content.isEmpty && !pattern.isEmpty && input.starts(with: pattern)
        case let .replaceRepeat(pattern, content):
            return content.isEmpty && pattern.matchLength(input, at: 0) > 0
        case let .collapseWhitespace(content):
            return content.isEmpty && CharClasses.isWhitespace(first)
                && (input.count > 1 && CharClasses.isWhitespace(input[1]) || first == "\n" || first == "\r" || first == "\t")
        case let .precompiled(map):
            return map.deletesFirst(input)
        case .lowercase, .nfd, .nfc, .nfkd, .nfkc, .prepend:
            return false
        case let .sequence(stages):
            var s = input
            for stage in stages {
                if stage.deletesFirst(s) { return true }
                s = stage.normalize(s)
            }
            return false
        }
    }

    /// Deletes `0`, U+FFFD and control scalars, then maps whitespace to U+0020.
    static func bertClean(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for c in s {
            if CharClasses.isBertRemoved(c) { continue }
            out.append(CharClasses.isBertCleanWhitespace(c) ? " " : c)
        }
        return out
    }

    /// Surrounds every CJK ideograph with U+0020.
    static func padChinese(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains(where: CharClasses.isChinese) else { return s }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count + 16)
        for c in s {
            if CharClasses.isChinese(c) {
                out.append(" ")
                out.append(c)
                out.append(" ")
            } else {
                out.append(c)
            }
        }
        return out
    }

    static func lowercased(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for c in s { CharClasses.appendLowercase(c, to: &out) }
        return out
    }

    /// Non-overlapping leftmost matches of the literal `pattern`, each replaced by `content`, found with
    /// Knuth–Morris–Pratt: O(text + pattern) whatever the two hold (the pattern comes from the file).
    static func replaceAll(_ s: [Unicode.Scalar], pattern: [Unicode.Scalar],
                           with content: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let m = pattern.count
        guard m > 0, s.count >= m else { return s }
        // fail[k]: length of the longest proper border of pattern[0...k].
        var fail = [Int](repeating: 0, count: m)
        var k = 0
        for q in 1..<m {
            while k > 0 && pattern[q] != pattern[k] { k = fail[k - 1] }
            if pattern[q] == pattern[k] { k += 1 }
            fail[q] = k
        }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var copied = 0  // s[..<copied] is in `out`
        k = 0
        for (i, c) in s.enumerated() {
            while k > 0 && c != pattern[k] { k = fail[k - 1] }
            if c == pattern[k] { k += 1 }
            if k == m {
                // A match ends at i. The first to end is the leftmost (all matches have length m); starting
                // over after it keeps the matches non-overlapping, as a left-to-right scan does.
                out.append(contentsOf: s[copied..<(i + 1 - m)])
                out.append(contentsOf: content)
                copied = i + 1
                k = 0
            }
        }
        out.append(contentsOf: s[copied...])
        return out
    }

    /// Naive twin of `replaceAll(_:pattern:with:)`: compares the pattern at every position, O(text × pattern).
    static func replaceAllReference(_ s: [Unicode.Scalar], pattern: [Unicode.Scalar],
                                    with content: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard !pattern.isEmpty else { return s }
        var out: [Unicode.Scalar] = []
        var i = 0
        while i < s.count {
            if i + pattern.count <= s.count && s[i..<(i + pattern.count)].elementsEqual(pattern) {
                out.append(contentsOf: content)
                i += pattern.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}

/// The regular expressions `Replace` normalizers use in published tokenizer.json files, without a regex engine:
/// one scalar class repeated greedily, `X{min,}`, `X{min,max}`, `X{n}` or `X+`, where X is a literal scalar
/// (escaped with `\\` when it is a regex metacharacter) or `\\s` (`char::is_whitespace`, as onig's `\\s`).
/// Anything else is refused by name at load.
struct RepeatPattern: Equatable, Sendable {
    enum Atom: Equatable, Sendable {
        case scalar(Unicode.Scalar)
        case whitespace
    }

    var atom: Atom
    var min: Int
    /// nil: unbounded.
    var max: Int?
    var source: String

    /// Parses `pattern`; nil when it is not of the supported form.
    static func parse(_ pattern: String) -> RepeatPattern? {
        let s = Array(pattern.unicodeScalars)
        guard !s.isEmpty else { return nil }
        var i = 0
        let atom: Atom
        if s[0] == "\\" {
            guard s.count >= 2 else { return nil }
            if s[1] == "s" {
                atom = .whitespace
            } else if "\\.^$|?*+()[]{}-/ ".unicodeScalars.contains(s[1]) {
                atom = .scalar(s[1])
            } else {
                return nil
            }
            i = 2
        } else {
            guard !"\\.^$|?*+()[]{}".unicodeScalars.contains(s[0]) else { return nil }
            atom = .scalar(s[0])
            i = 1
        }
        let rest = String(String.UnicodeScalarView(s[i...]))
        if rest == "+" { return RepeatPattern(atom: atom, min: 1, max: nil, source: pattern) }
        guard rest.hasPrefix("{"), rest.hasSuffix("}"), rest.count >= 3 else { return nil }
        let body = rest.dropFirst().dropLast()
        let parts = body.split(separator: ",", omittingEmptySubsequences: false)
        func number(_ t: Substring) -> Int? {
            guard !t.isEmpty, t.count <= 6, t.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(t)
        }
        switch parts.count {
        case 1:
            guard let n = number(parts[0]), n >= 1 else { return nil }
            return RepeatPattern(atom: atom, min: n, max: n, source: pattern)
        case 2:
            guard let lo = number(parts[0]), lo >= 1 else { return nil }
            if parts[1].isEmpty { return RepeatPattern(atom: atom, min: lo, max: nil, source: pattern) }
            guard let hi = number(parts[1]), hi >= lo else { return nil }
            return RepeatPattern(atom: atom, min: lo, max: hi, source: pattern)
        default:
            return nil
        }
    }

    @inline(__always)
    func matches(_ c: Unicode.Scalar) -> Bool {
        switch atom {
        case .scalar(let x): return c == x
        case .whitespace: return CharClasses.isWhitespace(c)
        }
    }

    /// Length of the greedy match at `i` (0: none).
    func matchLength(_ s: [Unicode.Scalar], at i: Int) -> Int {
        var j = i
        while j < s.count && matches(s[j]) && (max == nil || j - i < max!) { j += 1 }
        return j - i >= min ? j - i : 0
    }

    /// Non-overlapping leftmost greedy matches, each replaced by `content` (NormalizedString::replace), in one
    /// pass: a run of matching scalars shorter than `min` is copied whole, since no match can start inside it
    /// (every later start in the run sees a shorter run), so each scalar is looked at once.
    func replaceAll(_ s: [Unicode.Scalar], with content: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            var j = i
            while j < s.count && matches(s[j]) && (max == nil || j - i < max!) { j += 1 }
            if j - i >= min {
                out.append(contentsOf: content)
                i = j
            } else if j > i {
                out.append(contentsOf: s[i..<j])
                i = j
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }

    /// Naive twin of `replaceAll`: tries a match at every position, O(text × run length).
    func replaceAllReference(_ s: [Unicode.Scalar], with content: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        var i = 0
        while i < s.count {
            let n = matchLength(s, at: i)
            if n > 0 {
                out.append(contentsOf: content)
                i += n
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}
