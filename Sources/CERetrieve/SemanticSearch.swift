import COpenBLAS

/// Row-major float32 embeddings: `count` rows of `dimension` values.
public struct Embeddings: Equatable, Sendable {
    public var count: Int
    public var dimension: Int
    /// [count, dimension]
    public var values: [Float]

    public init(count: Int, dimension: Int, values: [Float]) throws {
        let n = count.multipliedReportingOverflow(by: dimension)
        guard count >= 0, dimension >= 0, !n.overflow, n.partialValue == values.count else {
            throw RetrieveError.shapeMismatch(what: "embeddings", expected: "\(count) x \(dimension)", got: values.count)
        }
        self.count = count
        self.dimension = dimension
        self.values = values
    }

    public func row(_ i: Int) -> ArraySlice<Float> { values[i * dimension..<(i + 1) * dimension] }
}

/// One search result: a 0-based corpus row and its score.
public struct SearchHit: Equatable, Sendable {
    public var corpusID: Int
    public var score: Float
    public init(corpusID: Int, score: Float) { self.corpusID = corpusID; self.score = score }
}

/// sentence-transformers' score functions. `cos`: util.cos_sim (rows L2-normalized with torch's eps 1e-12, then
/// dot); `dot`: util.dot_score.
public enum ScoreFunction: String, Sendable, CaseIterable {
    case cos, dot
}

/// util.semantic_search (sentence-transformers 6.2), reproduced: for each corpus chunk (outer loop) and each query
/// chunk, scores of the chunk pair, torch.topk(min(top_k, chunk), sorted=False) per query, pushed into a heapq of
/// (score, corpus_id) tuples kept at top_k; at the end each query's heap sorted by score, descending and stable.
public enum SemanticSearch {
    /// Corpus rows are scored in sub-blocks of about this many floats (what the BLAS packs at once; fp16 rows are
    /// widened into a buffer of this size), never copied a chunk at a time: a mapped corpus costs its mapping and
    /// these buffers only.
    static let subBlockFloats = 1 << 18

    public static func search(queries: Embeddings, corpus: Embeddings, topK: Int = 10, scoreFunction: ScoreFunction = .cos,
                              queryChunkSize: Int = 100, corpusChunkSize: Int = 500_000) throws -> [[SearchHit]] {
        try run(queries: queries, corpus: corpus, topK: topK, scoreFunction: scoreFunction, queryChunkSize: queryChunkSize,
                corpusChunkSize: corpusChunkSize, scores: scoresBLAS)
    }

    /// The same search with the scores computed by scalar loops (the naive twin of `search`).
    public static func searchReference(queries: Embeddings, corpus: Embeddings, topK: Int = 10, scoreFunction: ScoreFunction = .cos,
                                       queryChunkSize: Int = 100, corpusChunkSize: Int = 500_000) throws -> [[SearchHit]] {
        try run(queries: queries, corpus: corpus, topK: topK, scoreFunction: scoreFunction, queryChunkSize: queryChunkSize,
                corpusChunkSize: corpusChunkSize, scores: scoresReference)
    }

    /// out[q × ldc + c] = dot(queries row q, corpus row c); q: [nq, d], c: [nc, d], out: nq rows of ldc ≥ nc floats.
    typealias ScoreKernel = (_ q: UnsafePointer<Float>, _ nq: Int, _ c: UnsafePointer<Float>, _ nc: Int, _ d: Int,
                             _ out: UnsafeMutablePointer<Float>, _ ldc: Int) -> Void

    static func scoresBLAS(_ q: UnsafePointer<Float>, _ nq: Int, _ c: UnsafePointer<Float>, _ nc: Int, _ d: Int,
                           _ out: UnsafeMutablePointer<Float>, _ ldc: Int) {
        guard nq > 0, nc > 0 else { return }
        if d == 0 {
            for i in 0..<nq { (out + i * ldc).update(repeating: 0, count: nc) }
            return
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(nq), Int32(nc), Int32(d), 1, q, Int32(d), c, Int32(d), 0, out, Int32(ldc))
    }

    static func scoresReference(_ q: UnsafePointer<Float>, _ nq: Int, _ c: UnsafePointer<Float>, _ nc: Int, _ d: Int,
                                _ out: UnsafeMutablePointer<Float>, _ ldc: Int) {
        for i in 0..<nq {
            for j in 0..<nc {
                var s: Float = 0
                for t in 0..<d { s += q[i * d + t] * c[j * d + t] }
                out[i * ldc + j] = s
            }
        }
    }

    /// torch.nn.functional.normalize(x, p=2, dim=-1): each row / max(‖row‖₂, 1e-12), in place; rows of length d.
    public static func normalizeRows(_ x: UnsafeMutableBufferPointer<Float>, dimension d: Int) {
        guard d > 0 else { return }
        for r in 0..<(x.count / d) {
            var ss: Double = 0
            for t in 0..<d { let v = Double(x[r * d + t]); ss += v * v }
            let norm = max(Float(ss.squareRoot()), 1e-12)
            for t in 0..<d { x[r * d + t] /= norm }
        }
    }

    static func validate(_ queries: Embeddings, _ corpus: Embeddings, _ topK: Int, _ qcs: Int, _ ccs: Int) throws {
        try validate(queries, corpusCount: corpus.count, dimension: corpus.dimension, topK, qcs, ccs)
    }

    static func validate(_ queries: Embeddings, corpusCount: Int, dimension: Int, _ topK: Int, _ qcs: Int, _ ccs: Int) throws {
        guard queries.count == 0 || corpusCount == 0 || queries.dimension == dimension else {
            throw RetrieveError.dimensionMismatch(queries: queries.dimension, corpus: dimension)
        }
        guard topK >= 0 else { throw RetrieveError.invalidArgument(name: "top_k", value: topK) }
        guard qcs >= 1 else { throw RetrieveError.invalidArgument(name: "query_chunk_size", value: qcs) }
        guard ccs >= 1 else { throw RetrieveError.invalidArgument(name: "corpus_chunk_size", value: ccs) }
        guard corpusCount <= Int(Int32.max) else { throw RetrieveError.invalidArgument(name: "corpus rows", value: corpusCount) }
    }

    static func run(queries: Embeddings, corpus: Embeddings, topK: Int, scoreFunction: ScoreFunction, queryChunkSize: Int,
                    corpusChunkSize: Int, scores kernel: ScoreKernel) throws -> [[SearchHit]] {
        try corpus.values.withUnsafeBufferPointer { c in
            try run(queries: queries, rows: .float32(c), count: corpus.count, dimension: corpus.dimension, topK: topK,
                    scoreFunction: scoreFunction, queryChunkSize: queryChunkSize, corpusChunkSize: corpusChunkSize, scores: kernel)
        }
    }

    /// Corpus rows as stored: float32 (an array or a mapped fp32 index) or little-endian IEEE half (a mapped fp16 index).
    enum CorpusRows {
        case float32(UnsafeBufferPointer<Float>)
        case float16(UnsafeRawBufferPointer)

        var count: Int {
            switch self {
            case .float32(let p): return p.count
            case .float16(let p): return p.count / 2
            }
        }

        /// `body` of rows [start, end) as float32 [end − start, d]: the stored floats in place, or fp16 rows widened into
        /// `buffer`.
        func withBlock(_ start: Int, _ end: Int, d: Int, buffer: inout [Float], _ body: (UnsafePointer<Float>) -> Void) {
            switch self {
            case .float32(let p): return body(p.baseAddress! + start * d)
            case .float16(let raw):
                let n = (end - start) * d
                if buffer.count < n { buffer = [Float](repeating: 0, count: n) }
                buffer.withUnsafeMutableBufferPointer { b in
                    for i in 0..<n {
                        b[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * (start * d + i), as: UInt16.self))))
                    }
                }
                buffer.withUnsafeBufferPointer { body($0.baseAddress!) }
            }
        }

        /// max(‖row‖₂, 1e-12) of rows [start, end) (torch.nn.functional.normalize's divisor; sum of squares in float64).
        func norms(_ start: Int, _ end: Int, d: Int) -> [Float] {
            (start..<end).map { r in
                var ss = 0.0
                for t in 0..<d {
                    let v: Double
                    switch self {
                    case .float32(let p): v = Double(p[r * d + t])
                    case .float16(let raw):
                        v = Double(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * (r * d + t), as: UInt16.self))))
                    }
                    ss += v * v
                }
                return max(Float(ss.squareRoot()), 1e-12)
            }
        }
    }

    /// The search over corpus rows (an array or a mapped index), count × dimension values.
    static func run(queries: Embeddings, rows c: CorpusRows, count nc: Int, dimension d: Int, topK: Int,
                    scoreFunction: ScoreFunction, queryChunkSize: Int, corpusChunkSize: Int,
                    scores kernel: ScoreKernel) throws -> [[SearchHit]] {
        try validate(queries, corpusCount: nc, dimension: d, topK, queryChunkSize, corpusChunkSize)
        precondition(c.count >= nc * d)
        var q = queries.values
        if scoreFunction == .cos { q.withUnsafeMutableBufferPointer { normalizeRows($0, dimension: queries.dimension) } }
        var heaps = [ScoreHeap](repeating: ScoreHeap(), count: queries.count)
        scan(queries: q, nq: queries.count, corpus: c, nc: nc, d: d, topK: topK, normalizeCorpus: scoreFunction == .cos,
             corpusChunkSize: corpusChunkSize, kernel: kernel, heaps: &heaps)
        return heaps.map { $0.sortedDescending().map { SearchHit(corpusID: $0.id, score: $0.score) } }
    }

    /// The loops of util.semantic_search: per corpus chunk of n rows, each query's top k (torch.topk of its n scores)
    /// into its heap. `queries` [nq, d] are already normalized when `normalizeCorpus`; corpus rows are not copied: a
    /// score is divided by its row's norm (dot(q, c) / ‖c‖, within float32 rounding of cos_sim's dot(q, c / ‖c‖)).
    /// Fast pass: up to tileQueries queries at once against each sub-block of rows, keeping each query's best k + 1.
    /// When those k + 1 scores are distinct (and none equals a score already in the heap), the chunk's top k and the
    /// heap's result do not depend on torch's order; otherwise the query's n scores are computed and TorchTopK.select
    /// reproduces torch's choice among the ties.
    static func scan(queries q: [Float], nq: Int, corpus c: CorpusRows, nc: Int, d: Int, topK: Int,
                     normalizeCorpus: Bool, corpusChunkSize: Int, kernel: ScoreKernel, heaps: inout [ScoreHeap]) {
        guard nq > 0, nc > 0, topK > 0 else { return }
        let sub = max(1, subBlockFloats / max(d, 1)), tileQueries = min(nq, 128)
        var buffer = [Float](), tile = [Float](repeating: 0, count: tileQueries * min(sub, nc))
        var cs = 0
        while cs < nc {
            let ce = min(cs + corpusChunkSize, nc), n = ce - cs, k = min(topK, n)
            let norms = normalizeCorpus ? c.norms(cs, ce, d: d) : []
            var qs = 0
            while qs < nq {
                let rows = min(tileQueries, nq - qs)
                var best = [BestScores](repeating: BestScores(capacity: k + 1), count: rows)
                var s = cs
                while s < ce {
                    let e = min(s + sub, ce), w = e - s
                    c.withBlock(s, e, d: d, buffer: &buffer) { rowsPointer in
                        q.withUnsafeBufferPointer { qp in
                            tile.withUnsafeMutableBufferPointer { kernel(qp.baseAddress! + qs * d, rows, rowsPointer, w, d, $0.baseAddress!, w) }
                        }
                    }
                    for r in 0..<rows {
                        for j in 0..<w {
                            let v = normalizeCorpus ? tile[r * w + j] / norms[s - cs + j] : tile[r * w + j]
                            best[r].offer(v, index: s - cs + j)
                        }
                    }
                    s = e
                }
                for r in 0..<rows {
                    let top = best[r].distinctTop(k, heap: heaps[qs + r])
                        ?? exactTop(query: q, qs + r, corpus: c, cs, ce, d: d, k: k, norms: norms, sub: sub, kernel: kernel, buffer: &buffer)
                    for e in top {
                        let item = ScoreHeap.Item(score: e.value, id: cs + Int(e.index))
                        if heaps[qs + r].items.count < topK { heaps[qs + r].push(item) } else { heaps[qs + r].pushPop(item) }
                    }
                }
                qs += rows
            }
            cs = ce
        }
    }

    /// torch.topk(scores, k, sorted=False) of query `qi` over rows [cs, ce): its n scores, then TorchTopK.select.
    static func exactTop(query q: [Float], _ qi: Int, corpus c: CorpusRows, _ cs: Int, _ ce: Int, d: Int, k: Int, norms: [Float],
                         sub: Int, kernel: ScoreKernel, buffer: inout [Float]) -> [TorchTopK.Element] {
        let n = ce - cs
        var scores = [Float](repeating: 0, count: n), scratch = [TorchTopK.Element]()
        var s = cs
        while s < ce {
            let e = min(s + sub, ce)
            c.withBlock(s, e, d: d, buffer: &buffer) { rowsPointer in
                q.withUnsafeBufferPointer { qp in
                    scores.withUnsafeMutableBufferPointer { kernel(qp.baseAddress! + qi * d, 1, rowsPointer, e - s, d, $0.baseAddress! + (s - cs), n) }
                }
            }
            s = e
        }
        if !norms.isEmpty { for j in 0..<n { scores[j] /= norms[j] } }
        return scores.withUnsafeBufferPointer { Array(TorchTopK.select($0, k: k, scratch: &scratch)) }
    }
}

/// The best `capacity` scores offered (value descending, then index ascending), and whether a NaN was offered.
struct BestScores {
    let capacity: Int
    private(set) var items: [TorchTopK.Element] = []
    private(set) var sawNaN = false

    init(capacity: Int) { self.capacity = capacity; items.reserveCapacity(capacity + 1) }

    @inline(__always) mutating func offer(_ v: Float, index: Int) {
        if v.isNaN { sawNaN = true; return }
        if items.count == capacity, v <= items[items.count - 1].value { return }
        var i = items.count
        while i > 0, items[i - 1].value < v { i -= 1 }
        items.insert(TorchTopK.Element(value: v, index: Int32(index)), at: i)
        if items.count > capacity { items.removeLast() }
    }

    /// The first k when every kept score is distinct and none equals a score in `heap`, else nil (torch's tie order
    /// decides). Any value discarded was ≤ the last kept one, so a tie at the k-th place shows among the kept.
    func distinctTop(_ k: Int, heap: ScoreHeap) -> [TorchTopK.Element]? {
        guard !sawNaN else { return nil }
        for i in 1..<max(items.count, 1) where items[i].value == items[i - 1].value { return nil }
        let top = items.prefix(k)
        for e in top where heap.items.contains(where: { $0.score == e.value }) { return nil }
        return Array(top)
    }
}
