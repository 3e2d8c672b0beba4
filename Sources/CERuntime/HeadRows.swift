import CEGraph
import CEKernels
import COpenBLAS

// The last block for the rows the head reads. A classification head reads one row per sequence (the first token for
// BERT's pooler and its siblings and ModernBERT's cls pooling, the last non-pad token for the decoders), and every
// op of a block after attention (attn_out, the norms, the feed-forward block) works row by row: so the last block
// needs keys and values of every token but queries and everything after attention for those rows alone. The same
// numbers as the whole block (up to the order of fp32 sums), for about 3/12 of its linear work and 1/len of its
// attention. llama.cpp skips the unused output rows of its last layer the same way.

extension Pass {
    /// The rows of x (absolute, ascending) the head of `ops` reads, one per sequence, when it reads no other and the
    /// last block can run on them alone; nil otherwise (mean pooling, a bare encoder, calibration).
    static func headRows(_ ops: [Op], _ batch: Batch, _ h: Hyperparameters) -> [Int]? {
        guard ops.contains(where: \.isBlock) else { return nil }
        for op in ops {
            switch op {
            case .poolFirstToken, .poolHead(.cls, _): return batch.offsets
            case .scoreLastToken:
                let pad = h.decoder?.poolPadTokenID
                return batch.offsets.indices.map { batch.offsets[$0] + lastTokenRow(batch.sequences[$0].ids, pad: pad) }
            default: continue
            }
        }
        return nil
    }

    /// The row `scoreLastToken` reads: the last token whose id is not `pad` (0 when every token is), the last token
    /// when there is no pad id (transformers' Qwen3ForSequenceClassification).
    static func lastTokenRow(_ ids: [Int32], pad: Int?) -> Int {
        pad.map { p in ids.lastIndex { Int($0) != p } ?? 0 } ?? ids.count - 1
    }

    /// The head's rows when block `i` is the last one, else nil.
    func keptRows(block i: Int) -> [Int]? { i == h.numHiddenLayers - 1 ? headRows : nil }

    /// out row b (stride `ldOut`) ← per head, attention of query row keep[b] over the keys `keys(b, r)` of sequence b
    /// (r = keep[b] − offsets[b]; a range of its token positions): q, k, v rows of `ld` floats at qkv + `qOffset`,
    /// `kOffset`, `vOffset`; query head j reads key/value head j / `group`. `scratch` + worker · `stride` holds a row
    /// of scores.
    func headRowAttention(_ keep: [Int], qkv: UnsafeMutablePointer<Float>, ld: Int, kOffset: Int, vOffset: Int, heads: Int,
                          group: Int, headDim dh: Int, out: UnsafeMutablePointer<Float>, ldOut: Int,
                          scratch: UnsafeMutablePointer<Float>, stride: Int, keys: (Int, Int) -> Range<Int>) {
        let batch = batch
        Kernels.parallelTasks(keep.count) { b, worker in
            let range = keys(b, keep[b] - batch.offsets[b]), first = qkv + (batch.offsets[b] + range.lowerBound) * ld
            for head in 0..<heads {
                let kv = (head / group) * dh
                Kernels.attentionRow(q: qkv + keep[b] * ld + head * dh, k: first + kOffset + kv, v: first + vOffset + kv, ld: ld,
                                     keys: range.count, headDim: dh, out: out + b * ldOut + head * dh,
                                     scratch: scratch + worker * stride)
            }
        }
    }

    /// The encoders' fused q|k|v rows (ws.qkv, [N, 3C]) into ctx rows 0..<B: query r over the keys j with |r − j| ≤
    /// `window` (every key of its sequence without one).
    func encoderHeadRowAttention(_ keep: [Int], window: Int?) {
        let d = h.hiddenSize, batch = batch
        headRowAttention(keep, qkv: ws.qkv, ld: 3 * d, kOffset: d, vOffset: 2 * d, heads: h.numAttentionHeads, group: 1,
                         headDim: h.headDim, out: ws.ctx, ldOut: d, scratch: ws.scores,
                         stride: ws.attentionBlock(ws.sequenceCapacity)) { b, r in
            let len = batch.length(b), w = window ?? len
            return max(0, r - w)..<min(len, r + w + 1)
        }
    }
}

/// x row b ← x row keep[b], b ascending; keep[b] ≥ b (every sequence has a token), so no row is read after it is
/// overwritten. Returns keep.count.
func compactRows(_ x: UnsafeMutablePointer<Float>, _ keep: [Int], width: Int) -> Int {
    for (b, r) in keep.enumerated() where r != b { (x + b * width).update(from: x + r * width, count: width) }
    return keep.count
}

/// compactRows undone for the kept rows: x row keep[b] ← x row b, b descending (the other rows keep stale values,
/// which only row-wise ops read).
func expandRows(_ x: UnsafeMutablePointer<Float>, _ keep: [Int], width: Int) {
    for (b, r) in keep.enumerated().reversed() where r != b { (x + r * width).update(from: x + b * width, count: width) }
}

extension Kernels {
    /// Attention of one query row over `keys` key rows: out = Σ_j p_j·v_j, p = softmax_j(q·k_j / √dh). Rows of k and
    /// v have stride `ld`; scratch holds `keys` floats. The row `attention` computes for that query (fp32 sums in
    /// another order).
    static func attentionRow(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int, keys: Int,
                             headDim dh: Int, out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let n = Int32(keys), d = Int32(dh)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, d, 1 / Float(dh).squareRoot(), k, Int32(ld), q, 1, 0, scratch, 1)
        ce_softmax_rows_f32(scratch, 1, n)
        cblas_sgemv(CblasRowMajor, CblasTrans, n, d, 1, v, Int32(ld), scratch, 1, 0, out, 1)
    }
}

extension Op {
    /// A block of the trunk (one per layer).
    var isBlock: Bool {
        switch self {
        case .encoderBlock, .preNormBlock, .disentangledBlock, .decoderBlock: return true
        default: return false
        }
    }
}
