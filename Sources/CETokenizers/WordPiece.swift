/// tokenizers `models::wordpiece::WordPiece`: greedy longest-prefix match from the left; pieces after
/// the first carry `continuingSubwordPrefix`. A word longer than `maxInputCharsPerWord` scalars, or one
/// that cannot be covered entirely, becomes the single unk token.
struct WordPiece: Sendable {
    let vocab: [ByteString: Int32]
    let unkToken: String
    let unkID: Int32
    let continuingSubwordPrefix: String
    let maxInputCharsPerWord: Int
    /// Longest-prefix lookup over the entries: a word's first piece walks from the root, later pieces
    /// from the node the prefix leads to (whose subtrie is exactly the entries that carry the prefix,
    /// prefix removed; the root when the prefix is empty, nil when no entry carries it). A word costs
    /// O(scalars × longest entry) trie steps; probing every candidate end from the longest down, hashing
    /// each substring, costs O(scalars × longest entry²), which a vocabulary with long entries turns into
    /// a stall on long words.
    private let trie: WordPieceTrie
    private let continuationRoot: Int32?
    /// Longest vocabulary entry accepted, in UTF-8 bytes: bounds the trie steps per input scalar. Published
    /// WordPiece vocabularies stay under 50 bytes (bert-base-uncased: 18).
    static let maxEntryBytes = 1024

    init(vocab: [ByteString: Int32], unkToken: String, continuingSubwordPrefix: String,
         maxInputCharsPerWord: Int) throws {
        guard let unkID = vocab[ByteString(unkToken)] else {
            throw TokenizerError.missingUnknownToken(token: unkToken)
        }
        self.vocab = vocab
        self.unkToken = unkToken
        self.unkID = unkID
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        // Published vocabularies have about two trie edges per entry (bert-base-uncased: 30,522 entries,
        // 65,016 edges); room for that up front, so the table is rarely rehashed while it is built.
        var trie = WordPieceTrie(capacity: 2 * vocab.count)
        for (key, id) in vocab {
            guard key.bytes.count <= WordPiece.maxEntryBytes else {
                throw TokenizerError.invalidField(file: "vocabulary", field: "model.vocab",
                                                  reason: "an entry of \(key.bytes.count) bytes, above the limit of \(WordPiece.maxEntryBytes)")
            }
            trie.insert(key.bytes, id: id)
        }
        var node: Int32? = 0
        for byte in continuingSubwordPrefix.utf8 { node = node.flatMap { trie.child($0, byte) } }
        self.trie = trie
        continuationRoot = node
    }

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
/// multiplicative hash: building it for a 30k vocabulary is part of every model load.
struct WordPieceTrie: Sendable {
    private static let empty = UInt64.max
    private var keys: [UInt64]
    private var nodes: [Int32]
    private var shift: UInt64
    private var count = 0
    private var terminals: [Int32] = [-1]

    init(capacity: Int = 0) {
        var bits: UInt64 = 4
        while (1 << bits) < 2 * capacity { bits += 1 }
        keys = Array(repeating: Self.empty, count: 1 << bits)
        nodes = Array(repeating: 0, count: 1 << bits)
        shift = 64 - bits
        terminals.reserveCapacity(capacity + 1)
    }

    @inline(__always)
    private func slot(_ k: UInt64) -> Int { Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    mutating func insert(_ key: [UInt8], id: Int32) {
        var node: Int32 = 0
        for byte in key {
            if 2 * (count + 1) > keys.count { grow() }
            let k = UInt64(UInt32(node)) << 8 | UInt64(byte)
            // One probe sequence: the edge's slot, or the empty slot where it goes.
            var i = slot(k)
            while keys[i] != k && keys[i] != Self.empty { i = (i + 1) & (keys.count - 1) }
            if keys[i] == k {
                node = nodes[i]
            } else {
                let next = Int32(terminals.count)
                terminals.append(-1)
                keys[i] = k
                nodes[i] = next
                count += 1
                node = next
            }
        }
        terminals[Int(node)] = id
    }

    private mutating func grow() {
        let (oldKeys, oldNodes) = (keys, nodes)
        keys = Array(repeating: Self.empty, count: oldKeys.count * 2)
        nodes = Array(repeating: 0, count: oldKeys.count * 2)
        shift -= 1
        for (k, n) in zip(oldKeys, oldNodes) where k != Self.empty {
            var i = slot(k)
            while keys[i] != Self.empty { i = (i + 1) & (keys.count - 1) }
            keys[i] = k
            nodes[i] = n
        }
    }

    @inline(__always)
    func child(_ node: Int32, _ byte: UInt8) -> Int32? {
        let k = UInt64(UInt32(node)) << 8 | UInt64(byte)
        var i = slot(k)
        while true {
            let at = keys[i]
            if at == k { return nodes[i] }
            if at == Self.empty { return nil }
            i = (i + 1) & (keys.count - 1)
        }
    }

    @inline(__always)
    func terminal(_ node: Int32) -> Int32? {
        let t = terminals[Int(node)]
        return node != 0 && t >= 0 ? t : nil
    }
}
