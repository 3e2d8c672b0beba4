/// tokenizers `models::wordpiece::WordPiece`: greedy longest-prefix match from the left; pieces after
/// the first carry `continuingSubwordPrefix`. A word longer than `maxInputCharsPerWord` scalars, or one
/// that cannot be covered entirely, becomes the single unk token.
struct WordPiece: Sendable {
    let unkToken: String
    let unkID: Int32
    let continuingSubwordPrefix: String
    let maxInputCharsPerWord: Int
    /// tokenizers `get_vocab_size`: distinct entries (a repeated token counts once).
    let vocabSize: Int
    /// Longest-prefix lookup over the entries, and the token -> id map itself: a word's first piece walks
    /// from the root, later pieces from the node the prefix leads to (whose subtrie is exactly the entries
    /// that carry the prefix, prefix removed; the root when the prefix is empty, nil when no entry carries
    /// it). A word costs O(scalars × longest entry) trie steps; probing every candidate end from the
    /// longest down, hashing each substring, costs O(scalars × longest entry²), which a vocabulary with
    /// long entries turns into a stall on long words. No separate dictionary is kept: building one for a
    /// 30k vocabulary was a fifth of the tokenizer's load time.
    private let trie: WordPieceTrie
    private let continuationRoot: Int32?
    /// Longest vocabulary entry accepted, in UTF-8 bytes: bounds the trie steps per input scalar. Published
    /// WordPiece vocabularies stay under 50 bytes (bert-base-uncased: 18).
    static let maxEntryBytes = 1024

    /// `vocab` in file order; a repeated token takes its last id, as serde reading into a HashMap.
    init(vocab: VocabularyEntries, unkToken: String, continuingSubwordPrefix: String,
         maxInputCharsPerWord: Int) throws {
        // Published vocabularies have about two trie edges per entry (bert-base-uncased: 30,522 entries,
        // 65,016 edges); room for that up front, so the table is rarely rehashed while it is built.
        var trie = WordPieceTrie(capacity: 2 * vocab.count)
        var distinct = 0
        try vocab.forEach { key, id in
            guard key.count <= WordPiece.maxEntryBytes else {
                throw TokenizerError.invalidField(file: "vocabulary", field: "model.vocab",
                                                  reason: "an entry of \(key.count) bytes, above the limit of \(WordPiece.maxEntryBytes)")
            }
            guard let isNew = trie.insert(key, id: id) else {
                throw TokenizerError.invalidField(file: "vocabulary", field: "model.vocab",
                                                  reason: "more than \(WordPieceTrie.maxNodes) distinct prefixes")
            }
            if isNew { distinct += 1 }
        }
        guard let unkID = trie.id(of: unkToken.utf8) else {
            throw TokenizerError.missingUnknownToken(token: unkToken)
        }
        self.unkToken = unkToken
        self.unkID = unkID
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        vocabSize = distinct
        var node: Int32? = 0
        for byte in continuingSubwordPrefix.utf8 { node = node.flatMap { trie.child($0, byte) } }
        self.trie = trie
        continuationRoot = node
    }

    /// tokenizers `token_to_id` on the model: the entry's id, compared byte for byte.
    func tokenToID<C: Collection>(_ token: C) -> Int32? where C.Element == UInt8 { trie.id(of: token) }

    /// Appends the ids of `word` to `ids`.
    func tokenize(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) {
        let n = word.count
        if n == 0 { return }
        if n > maxInputCharsPerWord {
            ids.append(unkID)
            return
        }
        let firstPiece = ids.count
        var utf8: [UInt8] = []
        utf8.reserveCapacity(4)
        var start = word.startIndex
        while start < word.endIndex {
            // Longest entry matching word[start...]: walk the trie scalar by scalar, keep the last terminal.
            let root = start == word.startIndex ? 0 : continuationRoot
            guard var node = root else {
                ids.removeSubrange(firstPiece...)
                ids.append(unkID)
                return
            }
            var found: (end: Int, id: Int32)? = nil
            var i = start
            walk: while i < word.endIndex {
                utf8.removeAll(keepingCapacity: true)
                ByteString.appendUTF8(word[i], to: &utf8)
                for byte in utf8 {
                    guard let next = trie.child(node, byte) else { break walk }
                    node = next
                }
                i += 1
                if let id = trie.terminal(node) { found = (i, id) }
            }
            guard let match = found else {
                ids.removeSubrange(firstPiece...)
                ids.append(unkID)
                return
            }
            ids.append(match.id)
            start = match.end
        }
    }
}

/// A byte trie: edges in one open-addressing table keyed by (node, byte), a terminal id per node (-1:
/// none). The root (node 0) is never reported, so an empty entry matches nothing, as in the candidate
/// loop it replaces. The table is a power of two at most half full, probed linearly from a
/// multiplicative hash: building it for a 30k vocabulary is part of every model load. Each slot holds an
/// edge's key (parent node << 8 | byte) and its child node in one word, so a probe reads one cache line,
/// not two; that caps the trie at 2²⁴ − 1 nodes (bytes of distinct prefixes), far above any published
/// vocabulary (bert-base-uncased: 65,017).
struct WordPieceTrie: Sendable {
    private static let empty = UInt64.max
    static let maxNodes = (1 << 24) - 1
    private var slots: [UInt64]
    private var shift: UInt64
    private var count = 0
    private var terminals: [Int32] = [-1]

    init(capacity: Int = 0) {
        var bits: UInt64 = 4
        while (1 << bits) < 2 * capacity { bits += 1 }
        slots = Array(repeating: Self.empty, count: 1 << bits)
        shift = 64 - bits
        terminals.reserveCapacity(capacity + 1)
    }

    @inline(__always)
    private func slot(_ k: UInt64) -> Int { Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// Sets the entry's id; true when the entry was not there before, nil when the trie is full.
    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, id: Int32) -> Bool? {
        var node: Int32 = 0
        for byte in key {
            if 2 * (count + 1) > slots.count { grow() }
            let k = UInt64(UInt32(node)) << 8 | UInt64(byte)
            let mask = slots.count - 1
            // One probe sequence: the edge's slot, or the empty slot where it goes.
            var i = slot(k)
            var at = slots[i]
            while at != Self.empty && at >> 32 != k {
                i = (i + 1) & mask
                at = slots[i]
            }
            if at != Self.empty {
                node = Int32(truncatingIfNeeded: at & 0xFFFF_FFFF)
            } else {
                guard terminals.count < Self.maxNodes else { return nil }
                let next = Int32(terminals.count)
                terminals.append(-1)
                slots[i] = k << 32 | UInt64(UInt32(next))
                count += 1
                node = next
            }
        }
        let isNew = terminals[Int(node)] < 0
        terminals[Int(node)] = id
        return isNew
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Self.empty, count: old.count * 2)
        shift -= 1
        for e in old where e != Self.empty {
            var i = slot(e >> 32)
            while slots[i] != Self.empty { i = (i + 1) & (slots.count - 1) }
            slots[i] = e
        }
    }

    @inline(__always)
    func child(_ node: Int32, _ byte: UInt8) -> Int32? {
        let k = UInt64(UInt32(node)) << 8 | UInt64(byte)
        var i = slot(k)
        while true {
            let at = slots[i]
            if at == Self.empty { return nil }
            if at >> 32 == k { return Int32(truncatingIfNeeded: at & 0xFFFF_FFFF) }
            i = (i + 1) & (slots.count - 1)
        }
    }

    /// The id of an entry (the empty entry too), nil when absent.
    func id<C: Collection>(of key: C) -> Int32? where C.Element == UInt8 {
        var node: Int32 = 0
        for byte in key {
            guard let next = child(node, byte) else { return nil }
            node = next
        }
        let t = terminals[Int(node)]
        return t >= 0 ? t : nil
    }

    @inline(__always)
    func terminal(_ node: Int32) -> Int32? {
        let t = terminals[Int(node)]
        return node != 0 && t >= 0 ? t : nil
    }
}
