/// tokenizers `SplitDelimiterBehavior`.
enum SplitBehavior: String, Equatable, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"
}

/// A pre-tokenizer stage (tokenizer.json "pre_tokenizer"). Splits a normalized piece into words,
/// returned as index ranges into the scalar array. Empty words are dropped, as tokenizers'
/// PreTokenizedString drops empty splits.
indirect enum PreTokenizer: Equatable, Sendable {
    /// tokenizers: BertPreTokenizer = split on whitespace (removed), then on punctuation (isolated).
    case bert
    /// tokenizers: Whitespace = the matches of `\w+|[^\w\s]+`.
    case whitespace
    /// tokenizers: WhitespaceSplit = split on whitespace (removed).
    case whitespaceSplit
    /// tokenizers: Punctuation(behavior).
    case punctuation(SplitBehavior)
    /// tokenizers: ByteLevel. Per piece: a U+0020 is prepended when `addPrefixSpace` and the piece does not
    /// start with one; the GPT-2 regex splits it (`useRegex`); each word's UTF-8 bytes become `ByteLevel.byteChar`s.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    /// tokenizers: Metaspace. Per piece: every U+0020 becomes `replacement`; `replacement` is prepended unless the
    /// piece already starts with it (always / first: only a piece at original offset 0 / never); with `split`,
    /// the piece is split before each `replacement` (MergedWithNext).
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool)
    case sequence([PreTokenizer])
    /// tokenizers: Split(Regex(Qwen2's pattern), Isolated, invert false) (Qwen2Split).
    case qwen2Split

    /// tokenizers Metaspace `prepend_scheme`.
    enum PrependScheme: String, Equatable, Sendable {
        case always, first, never
    }

    /// A pre-token: its scalars, and whether it starts at original offset 0 of the input text.
    struct Word: Equatable {
        var scalars: [Unicode.Scalar]
        var atOrigin: Bool
    }

    /// Whether a stage changes the text itself (then words are new arrays, not ranges of the normalized text).
    var rewritesText: Bool {
        switch self {
        case .byteLevel, .metaspace: return true
        case .bert, .whitespace, .whitespaceSplit, .punctuation, .qwen2Split: return false
        case .sequence(let stages): return stages.contains { $0.rewritesText }
        }
    }

    /// The words of `pieces`, in order; empty words are dropped.
    func apply(_ pieces: [Word]) -> [Word] {
        switch self {
        case let .byteLevel(addPrefixSpace, useRegex):
            var out: [Word] = []
            for piece in pieces where !piece.scalars.isEmpty {
                var s = piece.scalars
                if addPrefixSpace && s[0] != " " { s.insert(" ", at: 0) }
                var ranges: [Range<Int>] = []
                if useRegex { ByteLevel.split(s, 0..<s.count, into: &ranges) } else { ranges = [0..<s.count] }
                for r in ranges where !r.isEmpty {
                    out.append(Word(scalars: ByteLevel.encode(s[r]), atOrigin: piece.atOrigin && r.lowerBound == 0))
                }
            }
            return out
        case let .metaspace(replacement, scheme, split):
            var out: [Word] = []
            for piece in pieces where !piece.scalars.isEmpty {
                var s = piece.scalars.map { $0 == " " ? replacement : $0 }
                let prepend: Bool
                switch scheme {
                case .always: prepend = s[0] != replacement
                case .first: prepend = s[0] != replacement && piece.atOrigin
                case .never: prepend = false
                }
                if prepend { s.insert(replacement, at: 0) }
                if split {
                    var ranges: [Range<Int>] = []
                    PreTokenizer.splitOne(s, 0..<s.count, { $0 == replacement }, .mergedWithNext, into: &ranges)
                    for r in ranges { out.append(Word(scalars: Array(s[r]), atOrigin: piece.atOrigin && r.lowerBound == 0)) }
                } else {
                    out.append(Word(scalars: s, atOrigin: piece.atOrigin))
                }
            }
            return out
        case .sequence(let stages):
            var current = pieces
            for stage in stages { current = stage.apply(current) }
            return current
        case .bert, .whitespace, .whitespaceSplit, .punctuation, .qwen2Split:
            var out: [Word] = []
            for piece in pieces {
                for r in split(piece.scalars, [0..<piece.scalars.count]) {
                    out.append(Word(scalars: Array(piece.scalars[r]), atOrigin: piece.atOrigin && r.lowerBound == 0))
                }
            }
            return out
        }
    }

    func split(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        split(s, [0..<s.count])
    }

    /// Ranges of the words of `s[pieces]`, for stages that do not rewrite the text (`rewritesText == false`).
    func split(_ s: [Unicode.Scalar], _ pieces: [Range<Int>]) -> [Range<Int>] {
        switch self {
        case .byteLevel, .metaspace:
            assertionFailure("split(_:_:) called on a pre-tokenizer that rewrites the text; use apply(_:)")
            return pieces
        case .bert:
            let words = PreTokenizer.splitEach(s, pieces, CharClasses.isWhitespace, .removed)
            return PreTokenizer.splitEach(s, words, CharClasses.isBertPunctuation, .isolated)
        case .whitespaceSplit:
            return PreTokenizer.splitEach(s, pieces, CharClasses.isWhitespace, .removed)
        case .punctuation(let behavior):
            return PreTokenizer.splitEach(s, pieces, CharClasses.isBertPunctuation, behavior)
        case .whitespace:
            var out: [Range<Int>] = []
            for piece in pieces { PreTokenizer.wordRuns(s, piece, into: &out) }
            return out
        case .qwen2Split:
            var out: [Range<Int>] = []
            for piece in pieces { Qwen2Split.split(s, piece, into: &out) }
            return out
        case .sequence(let stages):
            var current = pieces
            for stage in stages { current = stage.split(s, current) }
            return current
        }
    }

    /// `\w+|[^\w\s]+` matches (onig classes), in order.
    static func wordRuns(_ s: [Unicode.Scalar], _ piece: Range<Int>, into out: inout [Range<Int>]) {
        var i = piece.lowerBound
        let end = piece.upperBound
        while i < end {
            let c = s[i]
            if CharClasses.isOnigWord(c) {
                let start = i
                while i < end && CharClasses.isOnigWord(s[i]) { i += 1 }
                out.append(start..<i)
            } else if CharClasses.isWhitespace(c) {
                i += 1
            } else {
                let start = i
                while i < end && !CharClasses.isOnigWord(s[i]) && !CharClasses.isWhitespace(s[i]) { i += 1 }
                out.append(start..<i)
            }
        }
    }

    static func splitEach(_ s: [Unicode.Scalar], _ pieces: [Range<Int>],
                          _ isDelimiter: (Unicode.Scalar) -> Bool,
                          _ behavior: SplitBehavior) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(pieces.count * 2)
        for piece in pieces { splitOne(s, piece, isDelimiter, behavior, into: &out) }
        return out
    }

    /// NormalizedString::split with a char predicate: every delimiter char is its own match,
    /// runs of other chars are one non-match; then `behavior` merges or drops.
    static func splitOne(_ s: [Unicode.Scalar], _ piece: Range<Int>,
                         _ isDelimiter: (Unicode.Scalar) -> Bool,
                         _ behavior: SplitBehavior, into out: inout [Range<Int>]) {
        // (range, isMatch) events in order.
        var events: [(Range<Int>, Bool)] = []
        var last = piece.lowerBound
        for i in piece where isDelimiter(s[i]) {
            if last < i { events.append((last..<i, false)) }
            events.append((i..<(i + 1), true))
            last = i + 1
        }
        if last < piece.upperBound { events.append((last..<piece.upperBound, false)) }

        var kept: [Range<Int>] = []
        switch behavior {
        case .removed:
            kept = events.filter { !$0.1 }.map { $0.0 }
        case .isolated:
            kept = events.map { $0.0 }
        case .contiguous:
            var previousMatch = false
            for (r, isMatch) in events {
                if isMatch == previousMatch, let lastRange = kept.last {
                    kept[kept.count - 1] = lastRange.lowerBound..<r.upperBound
                } else {
                    kept.append(r)
                }
                previousMatch = isMatch
            }
        case .mergedWithPrevious:
            var previousMatch = false
            for (r, isMatch) in events {
                if isMatch && !previousMatch, let lastRange = kept.last {
                    kept[kept.count - 1] = lastRange.lowerBound..<r.upperBound
                } else {
                    kept.append(r)
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            var reversed: [Range<Int>] = []
            for (r, isMatch) in events.reversed() {
                if isMatch && !previousMatch, let lastRange = reversed.last {
                    reversed[reversed.count - 1] = r.lowerBound..<lastRange.upperBound
                } else {
                    reversed.append(r)
                }
                previousMatch = isMatch
            }
            kept = reversed.reversed()
        }
        for r in kept where !r.isEmpty { out.append(r) }
    }
}
