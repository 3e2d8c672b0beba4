/// tokenizers `AddedToken`.
struct AddedToken: Hashable, Sendable {
    var content: String
    var singleWord = false
    var lstrip = false
    var rstrip = false
    /// Matched against the normalized text (content normalized too) instead of the raw text.
    var normalized = true
    var special = false

    /// tokenizers `AddedToken::from(content, special)`: special tokens are not normalized by default.
    init(content: String, special: Bool) {
        self.content = content
        self.special = special
        self.normalized = !special
    }

    init(content: String, singleWord: Bool, lstrip: Bool, rstrip: Bool, normalized: Bool, special: Bool) {
        self.content = content
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
        self.special = special
    }

    static func == (a: AddedToken, b: AddedToken) -> Bool {
        a.content.utf8.elementsEqual(b.content.utf8) && a.singleWord == b.singleWord && a.lstrip == b.lstrip
            && a.rstrip == b.rstrip && a.normalized == b.normalized && a.special == b.special
    }

    /// Consistent with `==`: content bytes and flags.
    func hash(into hasher: inout Hasher) {
        for b in content.utf8 { hasher.combine(b) }
        hasher.combine(singleWord)
        hasher.combine(lstrip)
        hasher.combine(rstrip)
        hasher.combine(normalized)
        hasher.combine(special)
    }
}

/// Mirror of tokenizers' `AddedVocabulary` bookkeeping (`add_tokens` / `refresh_added_tokens`), so that
/// ids, flags and trie membership come out as the Rust code computes them, including its quirks (a
/// special token keeps the `normalized` flag of its first addition for trie membership).
struct AddedVocabularyBuilder {
    private(set) var contentToID: [ByteString: Int32] = [:]
    private(set) var idToToken: [Int32: AddedToken] = [:]
    private var addedTokens: [AddedToken] = []
    private var specialTokens: [AddedToken] = []
    private var specialSet: Set<ByteString> = []
    /// The tokens in `idToToken.values` and the largest id in `contentToID.values`, kept as tokens are
    /// added: scanning the values for each addition makes loading quadratic in the added tokens.
    private var tokenSet: Set<AddedToken> = []
    private var maxAddedID: Int32?

    /// tokenizers `AddedVocabulary::token_to_id`: added tokens first, then the model.
    func tokenToID(_ content: String, model: TokenizerModel) -> Int32? {
        Self.tokenToID(content, added: contentToID, model: model)
    }

    /// The same lookup over a finished tokenizer's added-token ids.
    static func tokenToID(_ content: String, added: [ByteString: Int32], model: TokenizerModel) -> Int32? {
        let key = ByteString(content)
        return added[key] ?? model.tokenToID(key)
    }

    /// tokenizers `AddedVocabulary::add_tokens`. Returns the number of tokens not ignored.
    @discardableResult
    mutating func add(_ tokens: [AddedToken], model: TokenizerModel) throws -> Int {
        // The matcher tries the trie from every scalar of a text, O(characters × longest token).
        for token in tokens where token.content.utf8.count > AddedVocabulary.maxTokenBytes {
            throw TokenizerError.addedTokenTooLong(token: String(token.content.unicodeScalars.prefix(32).map(Character.init)),
                                                   bytes: token.content.utf8.count, limit: AddedVocabulary.maxTokenBytes)
        }
        for token in tokens where token.special && !token.content.isEmpty {
            let key = ByteString(token.content)
            if !specialSet.contains(key) {
                specialTokens.append(token)
                specialSet.insert(key)
            }
        }
        var ignored = 0
        for token in tokens {
            if token.content.isEmpty || tokenSet.contains(token) {
                ignored += 1
                continue
            }
            let newID: Int32
            if let existing = tokenToID(token.content, model: model) {
                newID = existing
            } else {
                let vocabSize = Int64(model.vocabSize)
                let next: Int64
                if let maxID = maxAddedID {
                    next = (Int64(maxID) >= vocabSize || vocabSize == 0) ? Int64(maxID) + 1 : vocabSize
                } else {
                    next = vocabSize
                }
                guard next <= Int64(Int32.max) else {
                    throw TokenizerError.idOutOfRange(token: token.content, id: next)
                }
                newID = Int32(next)
            }
            contentToID[ByteString(token.content)] = newID
            maxAddedID = max(maxAddedID ?? newID, newID)
            if let replaced = idToToken.updateValue(token, forKey: newID) { tokenSet.remove(replaced) }
            tokenSet.insert(token)
            if !specialSet.contains(ByteString(token.content)) {
                addedTokens.append(token)
            }
        }
        return tokens.count - ignored
    }

    /// tokenizers `refresh_added_tokens` + the matcher of `extract_and_normalize`.
    /// `splitSpecialTokens` is transformers' `split_special_tokens` (tokenizers `encode_special_tokens`).
    func build(model: TokenizerModel, normalizer: Normalizer?, splitSpecialTokens: Bool) -> AddedVocabulary {
        var raw = ScalarTrie()
        var normalizedTrie = ScalarTrie()
        for token in specialTokens + addedTokens {
            guard let id = tokenToID(token.content, model: model) else { continue }
            let scalars = Array(token.content.unicodeScalars)
            if token.normalized {
                let pattern = normalizer?.normalize(scalars) ?? scalars
                normalizedTrie.insert(pattern, id: id)
            } else {
                raw.insert(scalars, id: id)
            }
        }
        var behavior: [Int32: AddedVocabulary.MatchBehavior] = [:]
        for (id, token) in idToToken {
            behavior[id] = AddedVocabulary.MatchBehavior(
                singleWord: token.singleWord, lstrip: token.lstrip, rstrip: token.rstrip,
                skipped: splitSpecialTokens && specialSet.contains(ByteString(token.content)))
        }
        return AddedVocabulary(rawTrie: raw, normalizedTrie: normalizedTrie, behavior: behavior)
    }
}

/// A trie over Unicode scalars; each terminal holds the id of the first pattern inserted there
/// (aho-corasick reports the lowest pattern index among identical patterns).
struct ScalarTrie: Sendable {
    private var children: [[UInt32: Int32]] = [[:]]
    private var terminal: [Int32] = [-1]
    private(set) var isEmpty = true

    mutating func insert(_ pattern: [Unicode.Scalar], id: Int32) {
        guard !pattern.isEmpty else { return }
        var node = 0
        for s in pattern {
            if let next = children[node][s.value] {
                node = Int(next)
            } else {
                children.append([:])
                terminal.append(-1)
                let next = Int32(children.count - 1)
                children[node][s.value] = next
                node = Int(next)
            }
        }
        if terminal[node] < 0 { terminal[node] = id }
        isEmpty = false
    }

    /// Longest pattern starting at `start`: (end, id).
    func longestMatch(_ s: [Unicode.Scalar], from start: Int) -> (end: Int, id: Int32)? {
        var node = 0
        var best: (end: Int, id: Int32)? = nil
        var i = start
        while i < s.count, let next = children[node][s[i].value] {
            node = Int(next)
            i += 1
            if terminal[node] >= 0 { best = (i, terminal[node]) }
        }
        return best
    }
}

/// The frozen added vocabulary: splits text around added tokens exactly as tokenizers'
/// `AddedVocabulary::find_matches` does (leftmost-longest, non-overlapping, then single_word /
/// lstrip / rstrip / encode_special_tokens applied per match).
struct AddedVocabulary: Sendable {
    /// Longest added token accepted, in UTF-8 bytes: bounds the trie walk from each scalar of a text, as the
    /// WordPiece and Unigram entry limits do. Published added and special tokens are a few dozen bytes.
    static let maxTokenBytes = 1024

    struct MatchBehavior: Sendable {
        var singleWord: Bool
        var lstrip: Bool
        var rstrip: Bool
        /// The match is dropped (split_special_tokens on a special token).
        var skipped: Bool
    }

    /// A piece of text: either an added token or a range of plain text.
    enum Piece: Equatable {
        case token(Int32)
        case text(Range<Int>)
    }

    let rawTrie: ScalarTrie
    let normalizedTrie: ScalarTrie
    let behavior: [Int32: MatchBehavior]

    func splitRaw(_ s: [Unicode.Scalar]) -> [Piece] { findMatches(s, rawTrie) }
    func splitNormalized(_ s: [Unicode.Scalar]) -> [Piece] { findMatches(s, normalizedTrie) }

    func findMatches(_ s: [Unicode.Scalar], _ trie: ScalarTrie) -> [Piece] {
        let n = s.count
        if trie.isEmpty || n == 0 { return [.text(0..<n)] }
        var pieces: [Piece] = []
        var startOffset = 0
        var searchFrom = 0
        while searchFrom < n {
            // Leftmost start, longest pattern there.
            var found: (start: Int, end: Int, id: Int32)? = nil
            var i = searchFrom
            while i < n {
                if let m = trie.longestMatch(s, from: i) {
                    found = (i, m.end, m.id)
                    break
                }
                i += 1
            }
            guard let match = found else { break }
            searchFrom = match.end
            var start = match.start
            var stop = match.end
            let b = behavior[match.id] ?? MatchBehavior(singleWord: false, lstrip: false, rstrip: false, skipped: false)
            if b.skipped { continue }
            if b.singleWord {
                let startSpace = start == 0 || !CharClasses.isRegexWord(s[start - 1])
                let stopSpace = stop == n || !CharClasses.isRegexWord(s[stop])
                if !startSpace || !stopSpace { continue }
            }
            if b.lstrip {
                var newStart = start
                while newStart > 0 && CharClasses.isWhitespace(s[newStart - 1]) { newStart -= 1 }
                start = max(newStart, startOffset)
            }
            if b.rstrip {
                while stop < n && CharClasses.isWhitespace(s[stop]) { stop += 1 }
            }
            if startOffset < start { pieces.append(.text(startOffset..<start)) }
            pieces.append(.token(match.id))
            startOffset = stop
        }
        if startOffset != n { pieces.append(.text(startOffset..<n)) }
        return pieces
    }
}
