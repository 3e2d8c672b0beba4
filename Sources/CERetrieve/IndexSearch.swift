import CEKernels
/// Search over an embedding index (formats/index.md, "Search"). Hits name rows (0-based); `id(ofRow:)` maps them
/// to corpus ids.
///
/// fp32 / fp16: SemanticSearch.search over the rows (fp16 widened to float32).
/// int8 / binary, two stages: stage 1 keeps the best m = rescoreMultiplier × topK rows (at most count) by the
/// quantized query: int8, the integer dot product of the query's int8 codes under the index's ranges with the row
/// codes (descending); binary, the Hamming distance of the packed sign bits (ascending); ties by lower row.
/// Stage 2 rescores them in float64: score = Σ_t query[t] × row[t], row[t] = (code + 128) × step + min for int8
/// (step = (max − min)/255 in float32, zero → 1), the 0/1 bit for binary; the top topK by descending score, ties
/// by lower row. With score_function `cos` the query is first L2-normalized (as SemanticSearch does); rows are
/// scored as stored, as sentence-transformers' rescoring does.
extension EmbeddingIndex {
    public func search(queries: Embeddings, topK: Int = 10, rescoreMultiplier: Int? = nil) throws -> [[SearchHit]] {
        try search(queries: queries, topK: topK, rescoreMultiplier: rescoreMultiplier, reference: false)
    }

    /// The same search by naive loops: scalar float scores, every row scored bit by bit or code by code, full sorts.
    public func searchReference(queries: Embeddings, topK: Int = 10, rescoreMultiplier: Int? = nil) throws -> [[SearchHit]] {
        try search(queries: queries, topK: topK, rescoreMultiplier: rescoreMultiplier, reference: true)
    }

    func search(queries: Embeddings, topK: Int, rescoreMultiplier: Int?, reference: Bool) throws -> [[SearchHit]] {
        let h = header, d = h.dimension
        switch h.precision {
        case .fp32, .fp16:
            let rows: SemanticSearch.CorpusRows = h.precision == .fp32 ? .float32(data.bindMemory(to: Float.self)) : .float16(data)
            return try SemanticSearch.run(queries: queries, rows: rows, count: h.count, dimension: d, topK: topK, scoreFunction: h.scoreFunction,
                                          queryChunkSize: 100, corpusChunkSize: 500_000,
                                          scores: reference ? SemanticSearch.scoresReference : SemanticSearch.scoresBLAS)
        case .int8, .binary:
            guard queries.count == 0 || h.count == 0 || queries.dimension == d else {
                throw RetrieveError.dimensionMismatch(queries: queries.dimension, corpus: d)
            }
            guard topK >= 0 else { throw RetrieveError.invalidArgument(name: "top_k", value: topK) }
            let mult = rescoreMultiplier ?? h.rescoreMultiplier ?? EmbeddingIndexLayout.defaultRescoreMultiplier
            guard mult >= 1 else { throw RetrieveError.invalidArgument(name: "rescore_multiplier", value: mult) }
            let mk = mult.multipliedReportingOverflow(by: topK)
            let m = min(mk.overflow ? Int.max : mk.partialValue, h.count), k = min(topK, h.count)
            guard queries.count > 0 else { return [] }
            var q = queries.values
            if h.scoreFunction == .cos { q.withUnsafeMutableBufferPointer { SemanticSearch.normalizeRows($0, dimension: d) } }
            let qe = try Embeddings(count: queries.count, dimension: d, values: q)
            // int8's fast stage 1 scores every query against each block of rows at once.
            let batched = h.precision == .int8 && !reference && d <= Self.batchedDimensionLimit
                ? stage1Int8(try QuantizeEmbeddings.int8(qe, ranges: h.ranges!), queries: queries.count, m: m) : nil
            return try (0..<queries.count).map { i in
                let query = Array(qe.row(i))
                let one = try Embeddings(count: 1, dimension: d, values: query)
                let candidates: [Int]
                if let batched {
                    candidates = batched[i]
                } else if h.precision == .int8 {
                    let codes = try QuantizeEmbeddings.int8(one, ranges: h.ranges!)
                    candidates = reference ? stage1Int8Reference(codes, m: m) : stage1Int8(codes, m: m)
                } else {
                    let bits = QuantizeEmbeddings.ubinary(one)
                    candidates = reference ? stage1BinaryReference(bits, m: m) : stage1Binary(bits, m: m)
                }
                return reference ? rescoreReference(query, candidates, k: k) : rescore(query, candidates, k: k)
            }
        }
    }

    // MARK: stage 1, fast

    /// Widest rows ce_dot_s8_rows sums exactly in int32 (|code · code| ≤ 2^14).
    static let batchedDimensionLimit = 1 << 16

    /// stage1Int8 for every query (`codes`: `queries` rows of d int8) in one pass over the rows: blocks of rows
    /// scored against blocks of queries by ce_dot_s8_rows (int32, exact), each score offered to its query's best m.
    func stage1Int8(_ codes: [Int8], queries nq: Int, m: Int) -> [[Int]] {
        let d = header.dimension, n = header.count, raw = data
        let rowBlock = 4096, queryBlock = 64
        var best = (0..<nq).map { _ in TopRows(capacity: m) }
        var scores = [Int32](repeating: 0, count: rowBlock * min(nq, queryBlock))
        codes.withUnsafeBufferPointer { q in
            let rows = raw.bindMemory(to: Int8.self).baseAddress!
            for r0 in stride(from: 0, to: n, by: rowBlock) {
                let rn = min(rowBlock, n - r0)
                for q0 in stride(from: 0, to: nq, by: queryBlock) {
                    let qn = min(queryBlock, nq - q0)
                    ce_dot_s8_rows(q.baseAddress! + q0 * d, Int32(qn), rows + r0 * d, rn, Int32(d), &scores)
                    for j in 0..<qn {
                        for r in 0..<rn { best[q0 + j].offer(score: Int64(scores[j * rn + r]), row: r0 + r) }
                    }
                }
            }
        }
        return best.map(\.rows)
    }

    /// Rows of the m largest Int32 dot products of `codes` (d int8) with the row codes; ties by lower row.
    func stage1Int8(_ codes: [Int8], m: Int) -> [Int] {
        let d = header.dimension, raw = data
        var best = TopRows(capacity: m)
        codes.withUnsafeBufferPointer { q in
            let rows = raw.bindMemory(to: Int8.self)
            for r in 0..<header.count {
                let row = rows.baseAddress! + r * d
                var s: Int64 = 0, t0 = 0
                while t0 < d {
                    // |code × code| ≤ 2^14: 2^16 terms fit in Int32
                    let t1 = min(t0 + (1 << 16), d)
                    var part: Int32 = 0
                    for t in t0..<t1 { part &+= Int32(q[t]) &* Int32(row[t]) }
                    s += Int64(part)
                    t0 = t1
                }
                best.offer(score: s, row: r)
            }
        }
        return best.rows
    }

    /// Rows of the m smallest Hamming distances of `bits` (packed, ⌈d/8⌉ bytes) to the rows; ties by lower row.
    func stage1Binary(_ bits: [UInt8], m: Int) -> [Int] {
        let w = header.rowBytes, raw = data, words = w / 8
        var best = TopRows(capacity: m)
        bits.withUnsafeBytes { q in
            for r in 0..<header.count {
                let base = r * w
                var dist = 0
                for j in 0..<words {
                    dist += (q.loadUnaligned(fromByteOffset: 8 * j, as: UInt64.self) ^ raw.loadUnaligned(fromByteOffset: base + 8 * j, as: UInt64.self)).nonzeroBitCount
                }
                for j in (8 * words)..<w { dist += (q[j] ^ raw[base + j]).nonzeroBitCount }
                best.offer(score: -Int64(dist), row: r)
            }
        }
        return best.rows
    }

    /// Stage 2 over `candidates`: the k best float64 scores of `query` (d float32) against the decoded rows.
    func rescore(_ query: [Float], _ candidates: [Int], k: Int) -> [SearchHit] {
        let d = header.dimension, raw = data
        var scored = [(score: Double, row: Int)]()
        scored.reserveCapacity(candidates.count)
        if header.precision == .int8 {
            let r = header.ranges!
            let steps = (0..<d).map { t -> Double in let s = (r.maximum[t] - r.minimum[t]) / 255; return Double(s == 0 ? 1 : s) }
            let mins = r.minimum.map(Double.init)
            for row in candidates {
                var s = 0.0
                for t in 0..<d {
                    let code = Int(Int8(bitPattern: raw[row * d + t]))
                    s += Double(query[t]) * (Double(code + 128) * steps[t] + mins[t])
                }
                scored.append((s, row))
            }
        } else {
            let w = header.rowBytes
            for row in candidates {
                var s = 0.0
                for t in 0..<d where raw[row * w + t / 8] & (0x80 >> UInt8(t % 8)) != 0 { s += Double(query[t]) }
                scored.append((s, row))
            }
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.row < $1.row }
        return scored.prefix(k).map { SearchHit(corpusID: $0.row, score: Float($0.score)) }
    }

    // MARK: reference twins

    func stage1Int8Reference(_ codes: [Int8], m: Int) -> [Int] {
        let d = header.dimension
        let all = (0..<header.count).map { r -> (Int, Int) in
            var s = 0
            for t in 0..<d { s += Int(codes[t]) * Int(Int8(bitPattern: data[r * d + t])) }
            return (s, r)
        }
        return all.sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }.prefix(m).map(\.1)
    }

    func stage1BinaryReference(_ bits: [UInt8], m: Int) -> [Int] {
        let d = header.dimension, w = header.rowBytes
        let all = (0..<header.count).map { r -> (Int, Int) in
            var dist = 0
            for t in 0..<d {
                let mask = UInt8(0x80) >> UInt8(t % 8)
                if (bits[t / 8] & mask != 0) != (data[r * w + t / 8] & mask != 0) { dist += 1 }
            }
            return (dist, r)
        }
        return all.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.prefix(m).map(\.1)
    }

    func rescoreReference(_ query: [Float], _ candidates: [Int], k: Int) -> [SearchHit] {
        let d = header.dimension, w = header.rowBytes
        let scored = candidates.map { row -> (Double, Int) in
            var s = 0.0
            for t in 0..<d {
                let x: Double
                if header.precision == .int8 {
                    x = QuantizeEmbeddings.dequantize(code: Int(Int8(bitPattern: data[row * d + t])), dimension: t, ranges: header.ranges!, signed: true)
                } else {
                    x = data[row * w + t / 8] & (UInt8(0x80) >> UInt8(t % 8)) != 0 ? 1 : 0
                }
                s += Double(query[t]) * x
            }
            return (s, row)
        }
        return scored.sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }.prefix(k).map { SearchHit(corpusID: $0.1, score: Float($0.0)) }
    }
}

/// The best `capacity` (score, row) pairs seen, kept sorted: higher score first, then lower row.
struct TopRows {
    let capacity: Int
    private var items: [(score: Int64, row: Int)] = []

    init(capacity: Int) { self.capacity = capacity; items.reserveCapacity(min(capacity, 1 << 16) + 1) }

    var rows: [Int] { items.map(\.row) }

    /// Rows arrive in ascending order, so an equal score never displaces a kept one.
    mutating func offer(score: Int64, row: Int) {
        guard capacity > 0 else { return }
        if items.count == capacity, score <= items[items.count - 1].score { return }
        var lo = 0, hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if items[mid].score >= score { lo = mid + 1 } else { hi = mid }
        }
        items.insert((score, row), at: lo)
        if items.count > capacity { items.removeLast() }
    }
}
