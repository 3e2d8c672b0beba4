/// tokenizers `models::unigram::Unigram` (`encode_optimized`, the port of SentencePiece's `EncodeOptimized`):
/// Viterbi over the UTF-8 bytes of a word, stepping scalar by scalar.
struct Unigram: Sendable {
    /// Piece bytes and log-probability score, in id order (duplicates kept, as in the Rust `Vec`).
    let pieces: [(bytes: [UInt8], score: Double)]
    /// Distinct pieces (the size of tokenizers' piece -> id map).
    let distinctPieces: Int
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
        // The trie is also the piece -> id map: inserted in id order, a repeated piece keeps its last id.
        var minScore = Double.infinity
        // Nodes are at most the pieces' total bytes; about 3 per piece in trained vocabularies.
        let totalBytes = pieces.reduce(0) { $0 + $1.bytes.count }
        var trie = UnigramTrie(expectedNodes: min(pieces.count * 3, totalBytes + 1))
        var distinct = 0
        for (id, p) in pieces.enumerated() {
            if trie.insert(p.bytes, value: Int32(id)) { distinct += 1 }
            minScore = min(minScore, p.score)
        }
        self.pieces = pieces
        self.distinctPieces = distinct
        self.unkID = unkID.map { Int32($0) }
        self.byteFallback = byteFallback
        self.unkScore = minScore - 10.0
        self.trie = trie
    }

    /// piece -> id; a repeated piece maps to its last id.
    func tokenToID(_ piece: ByteString) -> Int32? { trie.lookup(piece.bytes, 0..<piece.bytes.count) }

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
            if let id = trie.lookup(bytes, r) {
                ids.append(id)
                continue
            }
            if byteFallback {
                var byteIDs: [Int32] = []
                var complete = true
                for b in bytes[r] {
                    let token = BPE.byteToken(b)
                    guard let id = trie.lookup(token, 0..<token.count) else {
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

/// A trie over bytes: children in one open-addressing table keyed by (node, byte) (linear probing, multiplicative
/// hash, doubled at 5/8 load); each node holds the id of the key that ends there, or -1. A 250,000-piece vocabulary
/// (XLM-R's size) builds in a fraction of the time a Swift Dictionary took (bench: formats/tokenizer.md).
struct UnigramTrie: Sendable {
    private static let empty = UInt64.max
    private var keys: [UInt64]
    private var next: [Int32]
    private var shift: UInt64
    private var count = 0
    private var value: [Int32] = [-1]

    /// `expectedNodes`: a capacity hint (the table grows past it).
    init(expectedNodes: Int = 16) {
        var bits: UInt64 = 4
        while (1 << bits) * 5 < max(expectedNodes, 8) * 8 { bits += 1 }
        keys = [UInt64](repeating: Self.empty, count: 1 << bits)
        next = [Int32](repeating: 0, count: 1 << bits)
        shift = 64 - bits
    }

    @inline(__always) private static func key(_ node: Int32, _ byte: UInt8) -> UInt64 { UInt64(UInt32(node)) << 8 | UInt64(byte) }
    @inline(__always) private func slot(_ k: UInt64) -> Int { Int((k &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    @inline(__always) private func child(_ k: UInt64) -> Int32? {
        let mask = keys.count - 1
        var i = slot(k)
        while true {
            let stored = keys[i]
            if stored == k { return next[i] }
            if stored == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }

    private mutating func put(_ k: UInt64, _ v: Int32) {
        if (count + 1) * 8 > keys.count * 5 { grow() }
        let mask = keys.count - 1
        var i = slot(k)
        while keys[i] != Self.empty { i = (i + 1) & mask }
        keys[i] = k
        next[i] = v
        count += 1
    }

    private mutating func grow() {
        let oldKeys = keys, oldNext = next
        keys = [UInt64](repeating: Self.empty, count: oldKeys.count * 2)
        next = [Int32](repeating: 0, count: oldKeys.count * 2)
        shift -= 1
        count = 0
        for (i, k) in oldKeys.enumerated() where k != Self.empty { put(k, oldNext[i]) }
    }

    /// Maps `key` to `id`; true when the key was not in the trie before.
    @discardableResult
    mutating func insert(_ key: [UInt8], value id: Int32) -> Bool {
        var node: Int32 = 0
        for b in key {
            let k = Self.key(node, b)
            if let n = child(k) {
                node = n
            } else {
                value.append(-1)
                let n = Int32(value.count - 1)
                put(k, n)
                node = n
            }
        }
        let fresh = value[Int(node)] < 0
        value[Int(node)] = id
        return fresh
    }

    /// The id of exactly `bytes[range]`, or nil.
    func lookup(_ bytes: [UInt8], _ range: Range<Int>) -> Int32? {
        var node: Int32 = 0
        for i in range {
            guard let n = child(Self.key(node, bytes[i])) else { return nil }
            node = n
        }
        let id = value[Int(node)]
        return id >= 0 ? id : nil
    }

    /// Calls `body(end, id)` for every key that is a prefix of `bytes[start...]`, shortest first.
    @inline(__always)
    func forEachPrefix(of bytes: [UInt8], from start: Int, _ body: (Int, Int32) throws -> Void) rethrows {
        var node: Int32 = 0
        var i = start
        while i < bytes.count, let n = child(Self.key(node, bytes[i])) {
            node = n
            i += 1
            let id = value[Int(node)]
            if id >= 0 { try body(i, id) }
        }
    }
}
