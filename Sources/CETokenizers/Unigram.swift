/// tokenizers `models::unigram::Unigram` (`encode_optimized`, the port of SentencePiece's `EncodeOptimized`):
/// Viterbi over the UTF-8 bytes of a word, stepping scalar by scalar.
struct Unigram: Sendable {
    /// Piece bytes and log-probability score, in id order (duplicates kept, as in the Rust `Vec`).
    let pieces: [(bytes: [UInt8], score: Double)]
    /// piece -> id; a repeated piece maps to its last id.
    let vocab: [ByteString: Int32]
    let unkID: Int32?
    let byteFallback: Bool
    /// min(score) - 10 (`K_UNK_PENALTY`).
    let unkScore: Double
    private let trie: UnigramTrie
    /// Longest piece accepted, in UTF-8 bytes: the trie walk from each scalar of a word is at most this long,
    /// so a word of n bytes costs O(n × 1,024) however long the word; without it a piece as long as the word
    /// makes the lattice quadratic. SentencePiece trains pieces of at most 16 scalars by default.
    static let maxPieceBytes = 1024

    init(pieces: [(bytes: [UInt8], score: Double)], unkID: Int?, byteFallback: Bool) throws {
        guard !pieces.isEmpty else {
            throw TokenizerError.invalidField(file: TokenizerJSON.file, field: "model.vocab", reason: "empty Unigram vocabulary")
        }
        if let unkID, unkID < 0 || unkID >= pieces.count {
            throw TokenizerError.invalidField(file: TokenizerJSON.file, field: "model.unk_id",
                                              reason: "\(unkID) is outside the \(pieces.count)-piece vocabulary")
        }
        guard pieces.count <= Int(Int32.max) else {
            throw TokenizerError.idOutOfRange(token: "(piece \(pieces.count - 1))", id: Int64(pieces.count - 1))
        }
        var vocab: [ByteString: Int32] = [:]
        vocab.reserveCapacity(pieces.count)
        var minScore = Double.infinity
        for (id, p) in pieces.enumerated() {
            vocab[ByteString(p.bytes)] = Int32(id)
            minScore = min(minScore, p.score)
        }
        var trie = UnigramTrie()
        for (key, id) in vocab { trie.insert(key.bytes, value: id) }
        self.pieces = pieces
        self.vocab = vocab
        self.unkID = unkID.map { Int32($0) }
        self.byteFallback = byteFallback
        self.unkScore = minScore - 10.0
        self.trie = trie
    }

    private struct Node {
        var id: Int32 = 0
        var score: Double = 0
        /// Byte offset where the best piece ending here starts; -1: not reached yet.
        var start: Int = -1
    }

    /// Appends the ids of `word` (tokenizers `Unigram::tokenize`).
    ///
    /// Lattice: for every scalar boundary `s` in order, every vocabulary piece starting at `s` (trie walk,
    /// shorter first) offers `best[s] + score` to the node at its end, and replaces the node's choice only when
    /// strictly better, so a tie keeps the piece found first: the one starting earliest. A scalar that is not a
    /// one-scalar piece also offers an unk node `best[s] + unkScore`. Backtracking from the end, consecutive unk
    /// nodes (node id == unk_id, including a real piece with that id) are fused into one string. Each string is
    /// looked up (piece id), else byte-fallback `<0xXX>` pieces for all its bytes, else unk_id.
    func tokenize(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) throws {
        if word.isEmpty { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(word.count * 2)
        var boundaries: [Int] = [0]
        boundaries.reserveCapacity(word.count + 1)
        for s in word {
            ByteString.appendUTF8(s, to: &bytes)
            boundaries.append(bytes.count)
        }
        let size = bytes.count
        var nodes = [Node](repeating: Node(), count: size + 1)
        for k in 0..<(boundaries.count - 1) {
            let start = boundaries[k]
            let charLength = boundaries[k + 1] - start
            let base = nodes[start].score
            var hasSingle = false
            trie.forEachPrefix(of: bytes, from: start) { end, id in
                let candidate = pieces[Int(id)].score + base
                if nodes[end].start < 0 || candidate > nodes[end].score {
                    nodes[end] = Node(id: id, score: candidate, start: start)
                }
                if end - start == charLength { hasSingle = true }
            }
            if !hasSingle {
                let end = start + charLength
                let candidate = unkScore + base
                if nodes[end].start < 0 || candidate > nodes[end].score {
                    guard let unkID else { throw TokenizerError.unigramWithoutUnkID }
                    nodes[end] = Node(id: unkID, score: candidate, start: start)
                }
            }
        }
        // Backtrack into byte ranges, fusing consecutive unk nodes.
        var ranges: [Range<Int>] = []
        var end = size
        var fusedEnd: Int? = nil
        while end > 0 {
            let node = nodes[end]
            let start = node.start
            if let unkID, node.id == unkID {
                if fusedEnd == nil { fusedEnd = end }
            } else {
                if let f = fusedEnd {
                    ranges.append(end..<f)
                    fusedEnd = nil
                }
                ranges.append(start..<end)
            }
            end = start
        }
        if let f = fusedEnd { ranges.append(0..<f) }
        for r in ranges.reversed() {
            let piece = ByteString(Array(bytes[r]))
            if let id = vocab[piece] {
                ids.append(id)
                continue
            }
            if byteFallback {
                var byteIDs: [Int32] = []
                var complete = true
                for b in piece.bytes {
                    guard let id = vocab[ByteString(BPE.byteToken(b))] else {
                        complete = false
                        break
                    }
                    byteIDs.append(id)
                }
                if complete {
                    ids.append(contentsOf: byteIDs)
                    continue
                }
            }
            guard let unkID else { throw TokenizerError.unigramWithoutUnkID }
            ids.append(unkID)
        }
    }
}

/// A trie over bytes: children in one hash map keyed by (node, byte); each node holds the id of the key that
/// ends there, or -1.
struct UnigramTrie: Sendable {
    private var children: [UInt64: Int32] = [:]
    private var value: [Int32] = [-1]

    mutating func insert(_ key: [UInt8], value id: Int32) {
        var node: Int32 = 0
        for b in key {
            let k = UInt64(UInt32(node)) << 8 | UInt64(b)
            if let next = children[k] {
                node = next
            } else {
                value.append(-1)
                let next = Int32(value.count - 1)
                children[k] = next
                node = next
            }
        }
        value[Int(node)] = id
    }

    /// Calls `body(end, id)` for every key that is a prefix of `bytes[start...]`, shortest first.
    @inline(__always)
    func forEachPrefix(of bytes: [UInt8], from start: Int, _ body: (Int, Int32) throws -> Void) rethrows {
        var node: Int32 = 0
        var i = start
        while i < bytes.count, let next = children[UInt64(UInt32(node)) << 8 | UInt64(bytes[i])] {
            node = next
            i += 1
            let id = value[Int(node)]
            if id >= 0 { try body(i, id) }
        }
    }
}
