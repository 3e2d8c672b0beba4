import CECore
import CEGraph
import CEKernels
import COpenBLAS
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

// The decoder ops (formats/graph.md, "Decoders"): transformers' Qwen3ForSequenceClassification and its Qwen2 / Llama
// siblings, one KV-free forward pass per sequence (no cache: every pair is scored from scratch).
// Shapes: N tokens of the pass, C hidden, H query heads and KV key/value heads of D values, Q = H·D, K = KV·D,
// F intermediate, W = Q + 2K the fused q|k|v row.

/// A decoder block's weights: RMSNorm gains, q|k|v and gate|up fused into one linear each (one input apiece).
struct DecoderBlockWeights {
    let attnNorm: UnsafePointer<Float>   // [C]
    let qkv: Linear                      // [W, C]: attn_q, attn_k, attn_v stacked
    let qNorm: UnsafePointer<Float>?     // [D] (Qwen3)
    let kNorm: UnsafePointer<Float>?     // [D] (Qwen3)
    let out: Linear                      // [C, Q]
    let ffnNorm: UnsafePointer<Float>    // [C]
    let gateUp: Linear                   // [2F, C]: ffn_gate then ffn_up
    let down: Linear                     // [C, F]

    init(_ p: WeightPlanner, block i: Int) throws {
        typealias T = TensorName
        func optional(_ l: Layer) throws -> UnsafePointer<Float>? { try p.optional(l.weight) }
        attnNorm = try p.floats([T.attnNorm(i).weight])
        let qkv = [T.attnQ(i), T.attnK(i), T.attnV(i)]
        self.qkv = Linear(weight: try p.linear(qkv.map(\.weight)),
                          bias: p.graph.weights[qkv[0].bias] == nil ? nil : try p.floats(qkv.map(\.bias)))
        qNorm = try optional(T.attnQNorm(i))
        kNorm = try optional(T.attnKNorm(i))
        out = try p.linear(named: T.attnOut(i))
        ffnNorm = try p.floats([T.ffnNorm(i).weight])
        let ffn = T.ffnInputs(.decoder, i)
        gateUp = Linear(weight: try p.linear(ffn.map(\.weight)),
                        bias: p.graph.weights[ffn[0].bias] == nil ? nil : try p.floats(ffn.map(\.bias)))
        down = try p.linear(named: T.ffnDown(i))
    }
}

/// The token table, the blocks, the final RMSNorm and `score` (fp32 whatever the artifact's dtype).
struct DecoderWeights {
    let tokens: EmbeddingTable
    let blocks: [DecoderBlockWeights]
    let outputNorm: UnsafePointer<Float>
    let score: UnsafePointer<Float>?     // [L, C]; nil for a graph without head

    init(_ p: WeightPlanner) throws {
        tokens = try p.embeddingTable(TensorName.tokenEmbedding.weight)
        blocks = try (0..<p.graph.hyperparameters.numHiddenLayers).map { try DecoderBlockWeights(p, block: $0) }
        outputNorm = try p.floats([TensorName.outputNorm.weight])
        score = try p.optional(TensorName.classifierOut.weight)
    }
}

/// Scratch of the decoder ops beyond the shared residual stream x, grown as Workspace grows.
final class DecoderScratch {
    let c: Int, w: Int, q: Int, f: Int
    private(set) var tokens = 0, longest = 0, workers = 0, chunkRows = 0
    private var box: OwnedBytes?
    var h, qkv, ctx, ffn, gated, scores: UnsafeMutablePointer<Float>!
    var int8: Kernels.Int8Scratch!

    init(_ hp: Hyperparameters, _ m: DecoderParameters) {
        c = hp.hiddenSize
        q = hp.numAttentionHeads * m.headDim
        w = q + 2 * m.numKeyValueHeads * m.headDim
        f = hp.intermediateSize
    }

    /// Room for `t` tokens, sequences up to `s` tokens and feed-forward chunks of `chunk` rows.
    func reserve(tokens t: Int, longest s: Int, chunk: Int) {
        guard t > tokens || s > longest || Kernels.threads > workers || min(t, chunk) > chunkRows else { return }
        let t = max(t, tokens), s = max(s, longest), r = max(min(t, chunk), chunkRows)
        let sizes = [t * c, t * w, t * q, r * 2 * f, r * f, s * s * Kernels.threads].map { ($0 + 15) / 16 * 16 }
        let b = OwnedBytes(count: sizes.reduce(0, +) * 4, alignment: 64)
        var p = b.pointer.bindMemory(to: Float.self, capacity: sizes.reduce(0, +))
        var ptrs: [UnsafeMutablePointer<Float>] = []
        for n in sizes { ptrs.append(p); p += n }
        (h, qkv, ctx, ffn, gated, scores) = (ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5])
        box = b
        int8 = Kernels.Int8Scratch(rows: t, maxK: max(c, q, f), maxN: max(w, 2 * f, c))
        (tokens, longest, workers, chunkRows) = (t, s, Kernels.threads, r)
    }
}

extension Pass {
    /// `embedLookup`: ids (N) -> x (N, C) = token_embd[id].
    func embedLookupForward() {
        let d = h.hiddenSize, table = w.decoder!.tokens, ws = ws, batch = batch
        ws.decoder!.reserve(tokens: batch.total, longest: batch.longest, chunk: ffnChunkRows)
        Kernels.parallelTasks(batch.sequences.count) { b, _ in
            let s = batch.sequences[b]
            for p in 0..<s.ids.count {
                let row = ws.x + (batch.offsets[b] + p) * d, id = Int(s.ids[p])
                table.gather(id, width: d, into: row)
            }
        }
    }

    /// `decoderBlock(i)`: x (N, C) += attn_out · attention(rotary(norm(q|k|v · RMSNorm(x)))) (N, Q);
    /// x += ffn_down · (silu(g) ⊙ u), [g u] (N, 2F) = [ffn_gate; ffn_up] · RMSNorm(x).
    func decoderBlockForward(_ i: Int) {
        let m = h.decoder!, blk = w.decoder!.blocks[i], s = ws.decoder!, n = batch.total, d = h.hiddenSize, eps = h.layerNormEps
        s.h.update(from: ws.x, count: n * d)
        Kernels.rmsNorm(s.h, rows: n, n: d, gain: blk.attnNorm, eps: eps)
        observer?(TensorName.attnQ(i).weight, s.h, n, d)
        Kernels.linear(s.h, blk.qkv, s.qkv, m: n, n: s.w, k: d, scratch: s.int8)
        let kvWidth = m.numKeyValueHeads * m.headDim
        if let qn = blk.qNorm, let kn = blk.kNorm {
            // Per head: q rows of H heads, then k rows of KV heads, each RMSNorm over D values.
            Kernels.parallelRows(n, minRows: 16) { r0, r1 in
                for r in r0..<r1 {
                    Kernels.rmsNorm(s.qkv + r * s.w, rows: h.numAttentionHeads, n: m.headDim, gain: qn, eps: eps, parallel: false)
                    Kernels.rmsNorm(s.qkv + r * s.w + s.q, rows: m.numKeyValueHeads, n: m.headDim, gain: kn, eps: eps, parallel: false)
                }
            }
        }
        let table = rotary[.global]!, batch = batch
        Kernels.parallelTasks(batch.sequences.count) { b, _ in
            let base = s.qkv + batch.offsets[b] * s.w, len = batch.length(b)
            Kernels.rotary(base, ld: s.w, len: len, heads: h.numAttentionHeads, headDim: m.headDim, cos: table.cos, sin: table.sin)
            Kernels.rotary(base + s.q, ld: s.w, len: len, heads: m.numKeyValueHeads, headDim: m.headDim, cos: table.cos, sin: table.sin)
        }
        let keep = keptRows(block: i)
        if let keep {
            // The scored token t attends to tokens 0...t.
            headRowAttention(keep, qkv: s.qkv, ld: s.w, kOffset: s.q, vOffset: s.q + kvWidth, heads: h.numAttentionHeads,
                             group: h.numAttentionHeads / m.numKeyValueHeads, headDim: m.headDim, out: s.ctx, ldOut: s.q,
                             scratch: s.scores, stride: s.longest * s.longest) { _, r in 0..<(r + 1) }
        } else {
            causalAttentionForward(m, kvWidth: kvWidth)
        }
        let rows = keep.map { compactRows(ws.x, $0, width: d) } ?? n
        defer { if let keep { expandRows(ws.x, keep, width: d) } }
        observer?(TensorName.attnOut(i).weight, s.ctx, n, s.q)
        Kernels.linear(s.ctx, blk.out, s.h, m: rows, n: d, k: s.q, scratch: s.int8)
        Kernels.add(ws.x, s.h, count: rows * d)
        swiGLUForward(i, blk, rows: rows)
    }

    /// x (N, C) += ffn_down · (silu(g) ⊙ u), [g u] = [ffn_gate; ffn_up] · RMSNorm(x; ffn_norm), in row chunks.
    /// On the first `n` rows of x.
    private func swiGLUForward(_ i: Int, _ blk: DecoderBlockWeights, rows n: Int) {
        let s = ws.decoder!, d = h.hiddenSize, f = h.intermediateSize
        s.h.update(from: ws.x, count: n * d)
        Kernels.rmsNorm(s.h, rows: n, n: d, gain: blk.ffnNorm, eps: h.layerNormEps)
        observer?(TensorName.ffnGate(i).weight, s.h, n, d)
        let chunk = max(1, min(ffnChunkRows, s.chunkRows))
        for r0 in stride(from: 0, to: n, by: chunk) {
            let rows = min(chunk, n - r0)
            Kernels.linear(s.h + r0 * d, blk.gateUp, s.ffn, m: rows, n: 2 * f, k: d, scratch: s.int8)
            Kernels.gated(s.ffn, s.gated, rows: rows, n: f, act: .silu)
            observer?(TensorName.ffnDown(i).weight, s.gated, rows, f)
            Kernels.linear(s.gated, blk.down, s.ctx + r0 * d, m: rows, n: d, k: f, scratch: s.int8)
        }
        Kernels.add(ws.x, s.ctx, count: n * d)
    }

    /// qkv (N, W) -> ctx (N, Q): per sequence and query head j, causal softmax(q·kᵀ/√D)·v over kv head j / (H / KV)
    /// (transformers repeat_kv), token t attending to tokens 0...t of its own sequence.
    private func causalAttentionForward(_ m: DecoderParameters, kvWidth: Int) {
        let s = ws.decoder!, heads = h.numAttentionHeads, dh = m.headDim, group = heads / m.numKeyValueHeads, batch = batch
        let block = s.longest * s.longest
        Kernels.parallelTasks(batch.sequences.count * heads) { t, worker in
            let b = t / heads, head = t % heads, kvHead = head / group
            let row = s.qkv + batch.offsets[b] * s.w, len = batch.length(b)
            Kernels.causalAttention(q: row + head * dh, k: row + s.q + kvHead * dh, v: row + s.q + kvWidth + kvHead * dh, ld: s.w,
                                    out: s.ctx + batch.offsets[b] * s.q + head * dh, ldOut: s.q, len: len, headDim: dh,
                                    scratch: s.scores + worker * block)
        }
    }

    /// `scoreLastToken`: per sequence, row r = the last token whose id is not the pad id (0 when every token is;
    /// the last token when the config has no pad id); logits (B, L) = RMSNorm(x[r]; output_norm) · scoreᵀ.
    func scoreLastTokenForward() {
        let dw = w.decoder!, s = ws.decoder!, d = h.hiddenSize, pad = h.decoder!.poolPadTokenID
        let n = batch.sequences.count
        for b in 0..<n {
            let r = Pass.lastTokenRow(batch.sequences[b].ids, pad: pad)
            (s.h + b * d).update(from: ws.x + (batch.offsets[b] + r) * d, count: d)
        }
        Kernels.rmsNorm(s.h, rows: n, n: d, gain: dw.outputNorm, eps: h.layerNormEps)
        Kernels.linear(UnsafePointer(s.h!), dw.score!, nil, logits, m: n, n: h.numLabels, k: d)
    }
}

extension Kernels {
    /// RMSNorm in place (transformers Qwen3RMSNorm / LlamaRMSNorm in fp32): per row of n values,
    /// x ← gain · x / √(mean(x²) + eps), the mean accumulated in double and rounded once.
    static func rmsNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, gain: UnsafePointer<Float>, eps: Float, parallel: Bool = true) {
        func run(_ r0: Int, _ r1: Int) {
            for r in r0..<r1 {
                let row = x + r * n
                var acc = 0.0
                for j in 0..<n { acc += Double(row[j]) * Double(row[j]) }
                let inv = 1 / (Float(acc / Double(n)) + eps).squareRoot()
                for j in 0..<n { row[j] = gain[j] * (row[j] * inv) }
            }
        }
        if parallel { parallelRows(rows, minRows: 16, run) } else { run(0, rows) }
    }

    /// x·sigmoid(x) in place (torch.nn.functional.silu).
    static func silu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = x[i] / (1 + CMath.exp(-x[i])) }
    }

    /// Causal self-attention for one head of one sequence of `len` tokens: out[t] = Σ_{j ≤ t} p[t, j]·v[j],
    /// p[t, :] = softmax over j ≤ t of q_t·k_j / √dh (keys after t get probability 0, as transformers' causal mask's
    /// finfo.min logits give after exp). Rows of q, k, v have stride `ld`, out rows `ldOut`; scratch holds len² floats.
    public static func causalAttention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
                                       out: UnsafeMutablePointer<Float>, ldOut: Int, len: Int, headDim dh: Int,
                                       scratch: UnsafeMutablePointer<Float>) {
        let l = Int32(len), d = Int32(dh), scale = 1 / Float(dh).squareRoot()
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, l, l, d, scale, q, Int32(ld), k, Int32(ld), 0, scratch, l)
        for t in 0..<len {
            let row = scratch + t * len
            ce_softmax_rows_f32(row, 1, Int32(t + 1))
            for j in (t + 1)..<max(t + 1, len) { row[j] = 0 }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, l, d, l, 1, scratch, l, v, Int32(ld), 0, out, Int32(ldOut))
    }
}
