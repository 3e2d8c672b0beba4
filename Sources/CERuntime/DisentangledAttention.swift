import CECore
import CEGraph
import COpenBLAS
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// DeBERTa-v2's position tables, computed once per Executor (transformers recomputes them every forward pass from the
/// same weights): the rel_embd rows after their LayerNorm, projected per block to position keys (c2p) and position
/// queries (p2c), and the rel_embd row each relative distance reads. Plus one scratch block per worker.
final class DisentangledTables: @unchecked Sendable {
    let p: DebertaV2Parameters
    /// 2·att_span
    let rows: Int
    /// [layers] of [rows, hidden]: rel · W_posKᵀ + b (key_proj when share_att_key, else pos_key_proj); empty without c2p.
    let positionKeys: [[Float]]
    /// [layers] of [rows, hidden]: rel · W_posQᵀ + b (query_proj when share_att_key, else pos_query_proj); empty without p2c.
    let positionQueries: [[Float]]
    /// relativeRow(d) for d = −(maxDistance) ... maxDistance, at index d + maxDistance.
    let rowOfDistance: [Int32]
    let maxDistance: Int
    /// 1 / √(head size · scaleFactor), the divisor of every score term (transformers scaled_size_sqrt).
    let scale: Float
    private(set) var scratch: UnsafeMutablePointer<Float>
    private(set) var scratchPerWorker = 0
    private var workerCapacity = 0

    init(graph: Graph, parameters p: DebertaV2Parameters) throws {
        let h = graph.hyperparameters, d = h.hiddenSize
        self.p = p
        rows = p.relativeEmbeddingRows
        scale = 1 / (Float(h.headDim) * Float(p.scaleFactor)).squareRoot()
        maxDistance = max(0, h.maxPositionEmbeddings - 1)
        scratch = .allocate(capacity: 1)
        guard p.hasRelativeTerms else {
            rowOfDistance = [Int32](repeating: 0, count: 2 * maxDistance + 1)
            positionKeys = []
            positionQueries = []
            return
        }
        rowOfDistance = (-maxDistance...maxDistance).map { Int32(p.relativeRow($0)) }
        var rel = try DisentangledTables.dense(graph, TensorName.relativeEmbedding.weight)
        if p.normRelEmbedding {
            let gamma = try DisentangledTables.dense(graph, TensorName.relativeEmbeddingNorm.weight)
            let beta = try DisentangledTables.dense(graph, TensorName.relativeEmbeddingNorm.bias)
            Kernels.layerNorm(&rel, rows: rows, n: d, gamma: gamma, beta: beta, eps: h.layerNormEps)
        }
        let rows = p.relativeEmbeddingRows
        func project(_ layer: Layer) throws -> [Float] {
            let w = try DisentangledTables.dense(graph, layer.weight), b = try DisentangledTables.dense(graph, layer.bias)
            var out = [Float](repeating: 0, count: rows * d)
            Kernels.linear(rel, w, b, &out, m: rows, n: d, k: d)
            return out
        }
        let layers = 0..<h.numHiddenLayers
        positionKeys = p.c2p ? try layers.map { try project(p.shareAttKey ? TensorName.attnK($0) : TensorName.attnPosK($0)) } : []
        positionQueries = p.p2c ? try layers.map { try project(p.shareAttKey ? TensorName.attnQ($0) : TensorName.attnPosQ($0)) } : []
    }

    deinit { scratch.deallocate() }

    /// A weight as fp32: float dtypes widened; int8 linear weights as q·scale[row (, group)]·smooth[col]. A copy: the
    /// stored bytes' mapped pages are handed back (the block linears read them again only if they view them in place).
    static func dense(_ graph: Graph, _ name: String) throws -> [Float] {
        guard let t = graph.weights[name] else { throw GraphError.missingWeight(name: name) }
        defer { t.storage.releaseMappedPages() }
        if t.dtype != .i8 {
            guard let v = t.floatValues() else { throw RuntimeError.unsupportedWeightDType(name: name, dtype: t.dtype) }
            return v
        }
        guard t.shape.rank == 2, let scales = graph.weights[TensorName.scale(of: name)]?.floatValues() else {
            throw GraphError.missingWeight(name: TensorName.scale(of: name))
        }
        let r = t.shape.dims[0], c = t.shape.dims[1], group = scales.count == r ? c : max(1, graph.weightGroupSize)
        let groups = (c + group - 1) / group
        let smooth = graph.weights[TensorName.smooth(of: name)]?.floatValues()
        guard scales.count == r * groups, smooth.map({ $0.count == c }) ?? true, let base = t.storage.bytes.baseAddress else {
            throw GraphError.shapeMismatch(name: TensorName.scale(of: name), expected: [r, groups], actual: [scales.count])
        }
        let q = base.assumingMemoryBound(to: Int8.self)
        var out = [Float](repeating: 0, count: r * c)
        for i in 0..<r {
            for j in 0..<c { out[i * c + j] = Float(q[i * c + j]) * scales[i * groups + j / group] * (smooth?[j] ?? 1) }
        }
        return out
    }

    /// Floats of one worker's scratch for a sequence of `len` tokens: scores [len, len] and the c2p and p2c products
    /// [len, W] each, W the rel_embd rows the sequence's distances reach (≤ 2·len − 1).
    func scratchFloats(_ len: Int) -> Int { len * len + 2 * len * min(2 * len - 1, rows) }

    /// Room for sequences up to `longest` tokens on every worker.
    func reserve(longest: Int) {
        let need = scratchFloats(max(1, longest))
        guard need > scratchPerWorker || Kernels.threads > workerCapacity else { return }
        scratchPerWorker = max(need, scratchPerWorker)
        workerCapacity = Kernels.threads
        scratch.deallocate()
        scratch = .allocate(capacity: scratchPerWorker * workerCapacity)
    }

    /// The rel_embd row of distance q − k.
    @inline(__always) func row(_ distance: Int) -> Int { Int(rowOfDistance[distance + maxDistance]) }
}

extension Kernels {
    /// DeBERTa's disentangled attention for one head of one sequence of `len` tokens (transformers
    /// DisentangledSelfAttention): s[i, j] = scale·(q_i·k_j + q_i·posK[r(i−j)] + k_j·posQ[r(i−j)]), the position terms
    /// present when their tables are given, softmax over j, out_i = Σ_j p[i, j]·v_j. q, k, v rows have stride `ld`;
    /// posK, posQ are [rows, ·] with stride `ldPos`, already offset to the head's columns; out has stride `ldOut`.
    /// The p2c row is transformers' clamp(−bucket(j − i) + span), equal to r(i − j) since the bucket is odd.
    static func disentangledAttention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
                                      posK: UnsafePointer<Float>?, posQ: UnsafePointer<Float>?, ldPos: Int,
                                      out: UnsafeMutablePointer<Float>, ldOut: Int, len: Int, headDim dh: Int,
                                      tables t: DisentangledTables, scratch: UnsafeMutablePointer<Float>) {
        let l = Int32(len), d = Int32(dh), s = scratch
        // scores[i, j] = scale · q_i · k_j
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, l, l, d, t.scale, q, Int32(ld), k, Int32(ld), 0, s, l)
        let lo = t.row(-(len - 1)), w = t.row(len - 1) - lo + 1
        let c2p = s + len * len, p2c = c2p + len * w
        if let posK {
            // c2p[i, r − lo] = scale · q_i · posK[r]
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, l, Int32(w), d, t.scale, q, Int32(ld), posK + lo * ldPos,
                        Int32(ldPos), 0, c2p, Int32(w))
        }
        if let posQ {
            // p2c[j, r − lo] = scale · k_j · posQ[r]
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, l, Int32(w), d, t.scale, k, Int32(ld), posQ + lo * ldPos,
                        Int32(ldPos), 0, p2c, Int32(w))
        }
        if posK != nil || posQ != nil {
            for i in 0..<len {
                let row = s + i * len
                for j in 0..<len {
                    let r = t.row(i - j) - lo
                    if posK != nil { row[j] += c2p[i * w + r] }
                    if posQ != nil { row[j] += p2c[j * w + r] }
                }
            }
        }
        softmaxRows(s, rows: len, n: len)
        // out[i, :] = Σ_j p[i, j] v_j
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, l, d, l, 1, s, l, v, Int32(ld), 0, out, Int32(ldOut))
    }
}

extension Kernels {
    /// Row `i` alone of disentangledAttention (the same layouts; `q` is that row): s[j] = scale·(q·k_j + q·posK[r(i−j)] +
    /// k_j·posQ[r(i−j)]), softmax over j, out = Σ_j p[j]·v_j. scratch holds `len` + 2·len − 1 floats.
    static func disentangledAttentionRow(_ i: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                         ld: Int, posK: UnsafePointer<Float>?, posQ: UnsafePointer<Float>?, ldPos: Int,
                                         out: UnsafeMutablePointer<Float>, len: Int, headDim dh: Int, tables t: DisentangledTables,
                                         scratch: UnsafeMutablePointer<Float>) {
        let l = Int32(len), d = Int32(dh), s = scratch
        cblas_sgemv(CblasRowMajor, CblasNoTrans, l, d, t.scale, k, Int32(ld), q, 1, 0, s, 1)
        // The rel_embd rows distances i − j reach, j = len − 1 ... 0: lo ... hi.
        let lo = t.row(i - (len - 1)), w = t.row(i) - lo + 1
        let c2p = s + len
        if let posK { cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(w), d, t.scale, posK + lo * ldPos, Int32(ldPos), q, 1, 0, c2p, 1) }
        for j in 0..<len {
            let r = t.row(i - j)
            if posK != nil { s[j] += c2p[r - lo] }
            if let posQ { s[j] += t.scale * cblas_sdot(d, k + j * ld, 1, posQ + r * ldPos, 1) }
        }
        softmaxRows(s, rows: 1, n: len)
        cblas_sgemv(CblasRowMajor, CblasTrans, l, d, 1, v, Int32(ld), s, 1, 0, out, 1)
    }
}

extension Pass {
    /// `embedDebertaV2`: ids (N) -> emb (N, E) = token_embd[id] (+ pos_embd[position]) (+ type_embd[type]);
    /// x (N, C) = emb · embd_projᵀ when E != C (no bias); LayerNorm(embd_norm) at C.
    func embedDebertaV2Forward() {
        let e = h.embeddingSize, emb = w.embedding, ws = ws, batch = batch
        Kernels.parallelTasks(batch.sequences.count) { b, _ in
            let s = batch.sequences[b]
            for p in 0..<s.ids.count {
                let row = ws.emb + (batch.offsets[b] + p) * e, id = Int(s.ids[p])
                emb.tokens.gather(id, width: e, into: row)
                if let positions = emb.positions {
                    let pe = positions + p * e
                    for j in 0..<e { row[j] += pe[j] }
                }
                if let types = emb.types {
                    let ty = types + Int(s.typeIDs[p]) * e
                    for j in 0..<e { row[j] += ty[j] }
                }
            }
        }
        if let (weight, _) = emb.projection {
            Kernels.linear(ws.emb, weight, nil, ws.x, m: batch.total, n: h.hiddenSize, k: e)
        }
        Kernels.layerNorm(ws.x, rows: batch.total, n: h.hiddenSize, gamma: emb.norm.gamma, beta: emb.norm.beta, eps: h.layerNormEps)
    }

    /// qkv (N, 3C) -> ctx (N, C) for block i: disentangled attention per (sequence, head), one task each.
    func disentangledAttentionForward(_ i: Int) {
        let d = h.hiddenSize, heads = h.numAttentionHeads, dh = h.headDim, ws = ws, batch = batch, t = disentangled!
        let keys = t.positionKeys.isEmpty ? nil : t.positionKeys[i], queries = t.positionQueries.isEmpty ? nil : t.positionQueries[i]
        let block = t.scratchPerWorker
        keys.withOptionalPointer { posK in
            queries.withOptionalPointer { posQ in
                Kernels.parallelTasks(batch.sequences.count * heads) { task, worker in
                    let b = task / heads, off = (task % heads) * dh
                    let base = ws.qkv + batch.offsets[b] * 3 * d + off
                    Kernels.disentangledAttention(q: base, k: base + d, v: base + 2 * d, ld: 3 * d, posK: posK.map { $0 + off },
                                                  posQ: posQ.map { $0 + off }, ldPos: d, out: ws.ctx + batch.offsets[b] * d + off,
                                                  ldOut: d, len: batch.length(b), headDim: dh, tables: t,
                                                  scratch: t.scratch + worker * block)
                }
            }
        }
    }
}

extension Pass {
    /// ctx rows 0..<B ← disentangled attention of query row keep[b] alone, per head, block i (HeadRows.swift).
    func disentangledHeadRowAttention(_ i: Int, _ keep: [Int]) {
        let d = h.hiddenSize, heads = h.numAttentionHeads, dh = h.headDim, ws = ws, batch = batch, t = disentangled!
        let keys = t.positionKeys.isEmpty ? nil : t.positionKeys[i], queries = t.positionQueries.isEmpty ? nil : t.positionQueries[i]
        let block = t.scratchPerWorker
        keys.withOptionalPointer { posK in
            queries.withOptionalPointer { posQ in
                Kernels.parallelTasks(keep.count) { b, worker in
                    let base = ws.qkv + batch.offsets[b] * 3 * d, r = keep[b] - batch.offsets[b]
                    for off in stride(from: 0, to: heads * dh, by: dh) {
                        Kernels.disentangledAttentionRow(r, q: ws.qkv + keep[b] * 3 * d + off, k: base + d + off, v: base + 2 * d + off,
                                                         ld: 3 * d, posK: posK.map { $0 + off }, posQ: posQ.map { $0 + off }, ldPos: d,
                                                         out: ws.ctx + b * d + off, len: batch.length(b), headDim: dh, tables: t,
                                                         scratch: t.scratch + worker * block)
                    }
                }
            }
        }
    }
}

extension Optional where Wrapped == [Float] {
    /// The array's base address (nil for nil) for the duration of `body`.
    fileprivate func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let a = self else { return body(nil) }
        return a.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
