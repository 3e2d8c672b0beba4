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
    /// tokenizers: Prepend (only when the text is non-empty).
    case prepend([Unicode.Scalar])
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
        case let .prepend(prefix):
            return input.isEmpty ? input : prefix + input
        case let .sequence(stages):
            var s = input
            for stage in stages { s = stage.normalize(s) }
            return s
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

    static func replaceAll(_ s: [Unicode.Scalar], pattern: [Unicode.Scalar],
                           with content: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard !pattern.isEmpty, s.count >= pattern.count else { return s }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        let n = s.count
        let m = pattern.count
        while i < n {
            if i + m <= n && s[i] == pattern[0] && s[i..<(i + m)].elementsEqual(pattern) {
                out.append(contentsOf: content)
                i += m
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}
