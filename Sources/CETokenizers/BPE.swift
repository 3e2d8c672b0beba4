/// tokenizers `models::bpe::BPE` (dropout null or 0): a word's scalars become symbols, then merges are applied
/// lowest rank first (ties: leftmost), exactly in the order of tokenizers' `Word::merge_all` priority queue.
struct BPE: Sendable {
    let vocab: [ByteString: Int32]
    /// (left id, right id) packed as `left << 32 | right` -> (rank = index in `merges`, id of the merged token).
    let merges: [UInt64: Merge]
    /// `unk_token` as written; nil: unknown scalars are dropped.
    let unkToken: String?
    let unkID: Int32?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let continuingSubwordPrefix: [UInt8]?
    let endOfWordSuffix: [UInt8]?

    struct Merge: Sendable {
        var rank: Int32
        var newID: Int32
    }

    /// Builds the merge map as `BPE::build` does: for merge `i` = (a, b), both must be in the vocabulary and so
    /// must `a + b` with `b`'s continuing-subword prefix (its byte length, when a prefix is set) cut off; a
    /// repeated pair keeps its last rank.
    init(vocab: [ByteString: Int32], merges: [(String, String)], unkToken: String?, fuseUnk: Bool, byteFallback: Bool,
         ignoreMerges: Bool, continuingSubwordPrefix: String?, endOfWordSuffix: String?) throws {
        self.vocab = vocab
        self.unkToken = unkToken
        self.unkID = unkToken.flatMap { vocab[ByteString($0)] }
        self.fuseUnk = fuseUnk
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.continuingSubwordPrefix = continuingSubwordPrefix.map { Array($0.utf8) }
        self.endOfWordSuffix = endOfWordSuffix.map { Array($0.utf8) }
        let prefixLength = continuingSubwordPrefix?.utf8.count ?? 0
        var map: [UInt64: Merge] = [:]
        map.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let aID = vocab[ByteString(a)] else { throw TokenizerError.mergeTokenNotInVocabulary(token: a, merge: rank) }
            guard let bID = vocab[ByteString(b)] else { throw TokenizerError.mergeTokenNotInVocabulary(token: b, merge: rank) }
            let bBytes = Array(b.utf8)
            guard bBytes.count >= prefixLength else {
                throw TokenizerError.mergeTokenNotInVocabulary(token: a + b, merge: rank)
            }
            let merged = ByteString(Array(a.utf8) + bBytes[prefixLength...])
            guard let newID = vocab[merged] else {
                throw TokenizerError.mergeTokenNotInVocabulary(token: String(decoding: merged.bytes, as: UTF8.self), merge: rank)
            }
            guard rank <= Int(Int32.max) else { throw TokenizerError.idOutOfRange(token: a + " " + b, id: Int64(rank)) }
            map[UInt64(UInt32(bitPattern: aID)) << 32 | UInt64(UInt32(bitPattern: bID))] = Merge(rank: Int32(rank), newID: newID)
        }
        self.merges = map
    }

    @inline(__always)
    private func merge(_ a: Int32, _ b: Int32) -> Merge? {
        merges[UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))]
    }

    /// Appends the ids of `word` (tokenizers `BPE::tokenize`).
    func tokenize(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) throws {
        if word.isEmpty { return }
        var wordBytes: [UInt8] = []
        wordBytes.reserveCapacity(word.count * 2)
        for s in word { ByteString.appendUTF8(s, to: &wordBytes) }
        if ignoreMerges, let id = vocab[ByteString(wordBytes)] {
            ids.append(id)
            return
        }
        // --- merge_word: one symbol per scalar (prefix on all but the first, suffix on the last).
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        var pendingUnk = false
        var key = ByteString([])
        var charBytes: [UInt8] = []
        let last = word.count - 1
        for (k, s) in word.enumerated() {
            charBytes.removeAll(keepingCapacity: true)
            ByteString.appendUTF8(s, to: &charBytes)
            key.bytes.removeAll(keepingCapacity: true)
            if k > 0, let p = continuingSubwordPrefix { key.bytes.append(contentsOf: p) }
            key.bytes.append(contentsOf: charBytes)
            if k == last, let x = endOfWordSuffix { key.bytes.append(contentsOf: x) }
            if let id = vocab[key] {
                if pendingUnk, let unkID {
                    symbols.append(unkID)
                    pendingUnk = false
                }
                symbols.append(id)
                continue
            }
            if byteFallback {
                // `<0xXX>` for every byte of the key (prefix and suffix included); a pending unk is not flushed.
                var byteIDs: [Int32] = []
                var complete = true
                for b in key.bytes {
                    guard let id = vocab[ByteString(BPE.byteToken(b))] else {
                        complete = false
                        break
                    }
                    byteIDs.append(id)
                }
                if complete {
                    symbols.append(contentsOf: byteIDs)
                    continue
                }
            }
            if let unkToken {
                guard let unkID else { throw TokenizerError.missingUnknownToken(token: unkToken) }
                if pendingUnk && !fuseUnk { symbols.append(unkID) }
                pendingUnk = true
            }
        }
        if pendingUnk, let unkID { symbols.append(unkID) }
        mergeAll(&symbols)
        ids.append(contentsOf: symbols)
    }

    /// `<0xXX>` with two upper-case hex digits (Rust `format!("<{:#04X}>", b)`).
    static func byteToken(_ b: UInt8) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        return Array("<0x".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)], UInt8(ascii: ">")]
    }

    /// tokenizers `Word::merge_all` without dropout: a min-queue of (rank, position); an entry is applied only if
    /// both symbols are still there and the current pair still maps to the entry's new id.
    private func mergeAll(_ symbols: inout [Int32]) {
        let n = symbols.count
        if n < 2 { return }
        var prev = [Int](repeating: -1, count: n)
        var next = [Int](repeating: -1, count: n)
        var alive = [Bool](repeating: true, count: n)
        for i in 0..<n {
            prev[i] = i - 1
            next[i] = i + 1 < n ? i + 1 : -1
        }
        var queue = MergeQueue()
        for i in 0..<(n - 1) {
            if let m = merge(symbols[i], symbols[i + 1]) { queue.push(.init(rank: m.rank, pos: i, newID: m.newID)) }
        }
        while let top = queue.pop() {
            let pos = top.pos
            guard alive[pos], next[pos] >= 0 else { continue }
            let right = next[pos]
            guard let current = merge(symbols[pos], symbols[right]), current.newID == top.newID else { continue }
            symbols[pos] = top.newID
            alive[right] = false
            next[pos] = next[right]
            if next[right] >= 0 { prev[next[right]] = pos }
            if prev[pos] >= 0, let m = merge(symbols[prev[pos]], symbols[pos]) {
                queue.push(.init(rank: m.rank, pos: prev[pos], newID: m.newID))
            }
            if next[pos] >= 0, let m = merge(symbols[pos], symbols[next[pos]]) {
                queue.push(.init(rank: m.rank, pos: pos, newID: m.newID))
            }
        }
        var k = 0
        for i in 0..<n where alive[i] {
            symbols[k] = symbols[i]
            k += 1
        }
        symbols.removeSubrange(k...)
    }
}

/// Binary min-heap ordered by (rank, pos), like tokenizers' `BinaryHeap<Merge>` with its reversed `Ord`.
struct MergeQueue {
    struct Entry {
        var rank: Int32
        var pos: Int
        var newID: Int32
    }

    private var heap: [Entry] = []

    @inline(__always)
    private static func less(_ a: Entry, _ b: Entry) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos
    }

    mutating func push(_ e: Entry) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard MergeQueue.less(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if heap.isEmpty { return top }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < heap.count && MergeQueue.less(heap[l], heap[m]) { m = l }
            if r < heap.count && MergeQueue.less(heap[r], heap[m]) { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
        return top
    }
}
