import CEGraph
import CEKernels

// One forward function per op of the canonical graph (formats/graph.md, `Op`), in the table's order.
// Shapes: N tokens of the pass (sequences packed, no padding: sequence b at rows offsets[b] ..< offsets[b] + len_b),
// B sequences, C hidden, E embedding size, F intermediate, H heads of D = C / H, L labels. Buffers are the
// Workspace's; every op reads and writes the residual stream x (N, C) in place, the pooling ops fill pooled (B, C)
// and `classify` the logits (B, L). A backward pass adds `…Backward` beside each `…Forward`, with the same weights.
// The kernels they call are specified by their scalar twins in KernelsReference.swift (linear, layerNorm, gelu,
// softmaxRows, attention with and without a window, rotary, gatedGelu), which KernelTests compare them against.

/// The state of one pass through the op list: the batch, the planned weights, the workspace.
struct Pass {
    let batch: Batch
    let h: Hyperparameters
    let architecture: Architecture
    /// Position id of a sequence's first token (Graph.firstPosition).
    let firstPosition: Int
    let w: PlannedWeights
    let ws: Workspace
    let rotary: [AttentionSpan: RotaryTable]
    /// DeBERTa-v2's position tables and attention scratch; nil for every other architecture.
    let disentangled: DisentangledTables?
    let observer: ((String, UnsafePointer<Float>, Int, Int) -> Void)?
    /// Rows of the feed-forward block at a time; the whole pass when observed (calibration sees whole passes).
    let ffnChunkRows: Int
    /// (B, L)
    let logits: UnsafeMutablePointer<Float>
    /// The rows of x the head reads, when the last block runs for them alone (HeadRows.swift); nil: every row.
    let headRows: [Int]?

    init(batch: Batch, graph: Graph, weights: PlannedWeights, workspace: Workspace, rotary: [AttentionSpan: RotaryTable],
         observer: ((String, UnsafePointer<Float>, Int, Int) -> Void)?, ffnChunkRows: Int, logits: UnsafeMutablePointer<Float>,
         disentangled: DisentangledTables? = nil, headRows: [Int]? = nil) {
        self.batch = batch
        h = graph.hyperparameters
        architecture = graph.architecture
        firstPosition = graph.firstPosition
        w = weights
        ws = workspace
        self.rotary = rotary
        self.disentangled = disentangled
        self.observer = observer
        self.ffnChunkRows = observer == nil ? ffnChunkRows : max(1, batch.total)
        self.logits = logits
        self.headRows = headRows
    }

    /// The op's forward function.
    func forward(_ op: Op) {
        switch op {
        case .embed: embedForward()
        case .projectEmbeddings: projectEmbeddingsForward()
        case .encoderBlock(let i): postNormBlockForward(i)
        case .poolFirstToken(let act): poolFirstTokenForward(act)
        case .classify: classifyForward()
        case .embedTokens: embedTokensForward()
        case .preNormBlock(let i, let span): preNormBlockForward(i, span)
        case .outputNorm: outputNormForward()
        case .poolHead(let pooling, let act): poolHeadForward(pooling, act)
        case .embedDebertaV2: embedDebertaV2Forward()
        case .disentangledBlock(let i): postNormBlockForward(i, disentangled: true)
        case .embedLookup: embedLookupForward()
        case .decoderBlock(let i): decoderBlockForward(i)
        case .scoreLastToken: scoreLastTokenForward()
        }
    }

    /// `embed`: ids (N) -> emb (N, E) = token_embd[id] + pos_embd[position] + type_embd[type]; LayerNorm(embd_norm).
    /// emb is x when E = C.
    func embedForward() {
        let e = h.embeddingSize, emb = w.embedding, ws = ws, batch = batch, h = h
        // Graph.positions(of:) without the array: RoBERTa's pad tokens sit at padTokenID, the others count up from
        // firstPosition; elsewhere (padID −1 never matches) positions are 0, 1, 2, ….
        let first = firstPosition, padID: Int32 = architecture == .roberta ? Int32(h.padTokenID) : -1
        let readsTypes = architecture.usesTokenTypeIDs
        Kernels.parallelTasks(batch.sequences.count) { b, _ in
            let s = batch.sequences[b]
            var count = 0
            for p in 0..<s.ids.count {
                let row = ws.emb + (batch.offsets[b] + p) * e
                let position: Int
                if s.ids[p] == padID { position = h.padTokenID } else { position = first + count; count += 1 }
                let pe = emb.positions! + position * e
                emb.tokens.gather(Int(s.ids[p]), width: e, into: row)
                for j in 0..<e { row[j] += pe[j] }
                if let types = emb.types {
                    let ty = types + (readsTypes ? Int(s.typeIDs[p]) : 0) * e
                    for j in 0..<e { row[j] += ty[j] }
                }
            }
        }
        Kernels.layerNorm(ws.emb, rows: batch.total, n: e, gamma: emb.norm.gamma, beta: emb.norm.beta, eps: h.layerNormEps)
    }

    /// `projectEmbeddings`: emb (N, E) -> x (N, C) = emb · embd_projᵀ + b. ELECTRA's embeddings_project.
    func projectEmbeddingsForward() {
        let (weight, bias) = w.embedding.projection!
        Kernels.linear(ws.emb, weight, bias, ws.x, m: batch.total, n: h.hiddenSize, k: h.embeddingSize)
    }

    /// `embedTokens`: ids (N) -> x (N, C) = token_embd[id]; LayerNorm(embd_norm). ModernBERT.
    func embedTokensForward() {
        let d = h.hiddenSize, emb = w.embedding, ws = ws, batch = batch
        Kernels.parallelTasks(batch.sequences.count) { b, _ in
            let s = batch.sequences[b]
            for p in 0..<s.ids.count {
                let row = ws.x + (batch.offsets[b] + p) * d, id = Int(s.ids[p])
                emb.tokens.gather(id, width: d, into: row)
            }
        }
        Kernels.layerNorm(ws.x, rows: batch.total, n: d, gamma: emb.norm.gamma, beta: emb.norm.beta, eps: h.layerNormEps)
    }

    /// `encoderBlock(i)`, post-norm (BERT): x (N, C) -> qkv (N, 3C) -> ctx (N, C); x = LN(x + ctx·attn_outᵀ + b);
    /// x = LN(x + act(x·ffn_upᵀ + b) (N, F) · ffn_downᵀ + b).
    /// `disentangled`: DeBERTa-v2's attention (disentangledBlock) in place of plain softmax attention.
    func postNormBlockForward(_ i: Int, disentangled: Bool = false) {
        let blk = w.blocks[i], n = batch.total, d = h.hiddenSize, f = h.intermediateSize, eps = h.layerNormEps
        observer?(TensorName.attnQ(i).weight, ws.x, n, d)
        Kernels.linear(ws.x, blk.qkv, ws.qkv, m: n, n: 3 * d, k: d, scratch: ws.int8)
        // The last block, for the head's rows alone: their attention rows, then the rest on them, x compacted.
        let keep = keptRows(block: i)
        if let keep, disentangled {
            disentangledHeadRowAttention(i, keep)
        } else if let keep {
            encoderHeadRowAttention(keep, window: nil)
        } else if disentangled { disentangledAttentionForward(i) } else { attentionForward(window: nil) }
        let rows = keep.map { compactRows(ws.x, $0, width: d) } ?? n
        defer { if let keep { expandRows(ws.x, keep, width: d) } }
        observer?(TensorName.attnOut(i).weight, ws.ctx, rows, d)
        Kernels.linear(ws.ctx, blk.out, ws.tmp, m: rows, n: d, k: d, scratch: ws.int8)
        let attnNorm = blk.attnNorm!
        Kernels.addLayerNorm(ws.x, ws.tmp, rows: rows, n: d, gamma: attnNorm.gamma, beta: attnNorm.beta, eps: eps)
        observer?(TensorName.ffnUp(i).weight, ws.x, rows, d)
        // In row chunks: ffn (rows, F) is the widest activation of the block, and only a chunk of it is resident.
        for r0 in stride(from: 0, to: rows, by: ffnChunkRows) {
            let chunk = min(ffnChunkRows, rows - r0)
            Kernels.linear(ws.x + r0 * d, blk.up, ws.ffn, m: chunk, n: f, k: d, scratch: ws.int8)
            switch h.hiddenAct {
            case .gelu: Kernels.gelu(ws.ffn, count: chunk * f)
            case .geluTanh: Kernels.geluTanh(ws.ffn, count: chunk * f)
            case .relu: Kernels.relu(ws.ffn, count: chunk * f)
            case .silu: Kernels.silu(ws.ffn, count: chunk * f)
            }
            observer?(TensorName.ffnDown(i).weight, ws.ffn, chunk, f)
            Kernels.linear(ws.ffn, blk.down, ws.tmp + r0 * d, m: chunk, n: d, k: f, scratch: ws.int8)
        }
        Kernels.addLayerNorm(ws.x, ws.tmp, rows: rows, n: d, gamma: blk.ffnNorm.gamma, beta: blk.ffnNorm.beta, eps: eps)
    }

    /// `preNormBlock(i, span)` (ModernBERT): x (N, C) += attn_out · attention(rotary(qkv(LN(x))));
    /// x += ffn_down · (act(u) ⊙ g), [u g] (N, 2F) = ffn_up · LN(x). LN(x) is x itself in block 0.
    func preNormBlockForward(_ i: Int, _ span: AttentionSpan) {
        let blk = w.blocks[i], n = batch.total, d = h.hiddenSize, eps = h.layerNormEps
        // h = attn_norm(x) in tmp (N, C)
        ws.tmp.update(from: ws.x, count: n * d)
        if let norm = blk.attnNorm { Kernels.layerNorm(ws.tmp, rows: n, n: d, gamma: norm.gamma, beta: norm.beta, eps: eps) }
        observer?(TensorName.attnQKV(i).weight, ws.tmp, n, d)
        Kernels.linear(ws.tmp, blk.qkv, ws.qkv, m: n, n: 3 * d, k: d, scratch: ws.int8)
        rotaryForward(rotary[span]!)
        let window = span == .local ? h.modernBERT!.halfWindow : nil
        let keep = keptRows(block: i)
        if let keep {
            encoderHeadRowAttention(keep, window: window)
        } else {
            attentionForward(window: window)
        }
        let rows = keep.map { compactRows(ws.x, $0, width: d) } ?? n
        defer { if let keep { expandRows(ws.x, keep, width: d) } }
        observer?(TensorName.attnOut(i).weight, ws.ctx, rows, d)
        Kernels.linear(ws.ctx, blk.out, ws.tmp, m: rows, n: d, k: d, scratch: ws.int8)
        Kernels.add(ws.x, ws.tmp, count: rows * d)
        gatedFeedForward(i, blk, rows: rows)
    }

    /// ModernBERT's MLP with its residual: x (N, C) += ffn_down · (act(u) ⊙ g), [u g] (N, 2F) = ffn_up · LN(x; ffn_norm),
    /// in row chunks as the post-norm block; on the first `n` rows of x.
    private func gatedFeedForward(_ i: Int, _ blk: BlockWeights, rows n: Int) {
        let d = h.hiddenSize, f = h.intermediateSize
        ws.tmp.update(from: ws.x, count: n * d)
        Kernels.layerNorm(ws.tmp, rows: n, n: d, gamma: blk.ffnNorm.gamma, beta: blk.ffnNorm.beta, eps: h.layerNormEps)
        observer?(TensorName.ffnUp(i).weight, ws.tmp, n, d)
        for r0 in stride(from: 0, to: n, by: ffnChunkRows) {
            let rows = min(ffnChunkRows, n - r0)
            Kernels.linear(ws.tmp + r0 * d, blk.up, ws.ffn, m: rows, n: 2 * f, k: d, scratch: ws.int8)
            Kernels.gated(ws.ffn, ws.gatedOut, rows: rows, n: f, act: h.hiddenAct)
            observer?(TensorName.ffnDown(i).weight, ws.gatedOut, rows, f)
            Kernels.linear(ws.gatedOut, blk.down, ws.ctx + r0 * d, m: rows, n: d, k: f, scratch: ws.int8)
        }
        Kernels.add(ws.x, ws.ctx, count: n * d)
    }

    /// q and k of qkv (N, 3C) rotated in place, each sequence's tokens at positions 0 ..< len (Kernels.rotary).
    private func rotaryForward(_ table: RotaryTable) {
        let d = h.hiddenSize, heads = h.numAttentionHeads, dh = h.headDim, ws = ws, batch = batch
        Kernels.parallelTasks(batch.sequences.count) { b, _ in
            let base = ws.qkv + batch.offsets[b] * 3 * d, len = batch.length(b)
            Kernels.rotary(base, ld: 3 * d, len: len, heads: heads, headDim: dh, cos: table.cos, sin: table.sin)
            Kernels.rotary(base + d, ld: 3 * d, len: len, heads: heads, headDim: dh, cos: table.cos, sin: table.sin)
        }
    }

    /// qkv (N, 3C) -> ctx (N, C): per sequence and head, softmax(q·kᵀ/√D)·v over the sequence's own tokens, or
    /// those with |i − j| ≤ `window`. One (sequence, head) per task, longest sequences first (the caller sorts), a
    /// scratch block per worker: a single long sequence still keeps every worker busy.
    private func attentionForward(window: Int?) {
        let d = h.hiddenSize, heads = h.numAttentionHeads, dh = h.headDim, ws = ws, batch = batch
        let block = ws.attentionBlock(ws.sequenceCapacity)
        Kernels.parallelTasks(batch.sequences.count * heads) { t, worker in
            let b = t / heads, off = (t % heads) * dh
            let base = ws.qkv + batch.offsets[b] * 3 * d + off
            let out = ws.ctx + batch.offsets[b] * d + off, len = batch.length(b), scratch = ws.scores + worker * block
            if let window {
                Kernels.localAttention(q: base, k: base + d, v: base + 2 * d, ld: 3 * d, out: out, ldOut: d, len: len,
                                       headDim: dh, window: window, scratch: scratch)
            } else {
                Kernels.attention(q: base, k: base + d, v: base + 2 * d, ld: 3 * d, out: out, ldOut: d, len: len,
                                  heads: 1, headDim: dh, scratch: scratch)
            }
        }
    }

    /// `outputNorm`: x (N, C) = LN(x; output_norm). ModernBERT's final_norm.
    func outputNormForward() {
        let norm = w.head.outputNorm!
        Kernels.layerNorm(ws.x, rows: batch.total, n: h.hiddenSize, gamma: norm.gamma, beta: norm.beta, eps: h.layerNormEps)
    }

    /// `poolFirstToken(act)`: x (N, C) -> cls (B, C) = each sequence's first token -> pooled (B, C) = act(cls·cls.poolᵀ + b).
    /// BERT pooler / RoBERTa classifier.dense (tanh), DistilBERT pre_classifier (ReLU), ELECTRA classifier.dense (GELU).
    func poolFirstTokenForward(_ act: PoolActivation) {
        poolFirstTokens()
        poolDense(act)
    }

    /// `poolHead(pooling, act)`: x (N, C) -> cls (B, C) (first token or mean) -> pooled (B, C) = LN(act(cls·cls.poolᵀ + b);
    /// cls.pool_norm). ModernBERT's head.
    func poolHeadForward(_ pooling: Pooling, _ act: PoolActivation) {
        switch pooling {
        case .cls: poolFirstTokens()
        case .mean: poolMean()
        }
        poolDense(act)
        let norm = w.head.poolNorm!
        Kernels.layerNorm(ws.pooled, rows: batch.sequences.count, n: h.hiddenSize, gamma: norm.gamma, beta: norm.beta, eps: h.layerNormEps)
    }

    /// `classify`: pooled (B, C) -> logits (B, L) = pooled · cls.outᵀ + b.
    func classifyForward() {
        let (weight, bias) = w.head.classifier
        Kernels.linear(UnsafePointer(ws.pooled!), weight, bias, logits, m: batch.sequences.count, n: h.numLabels, k: h.hiddenSize)
    }

    /// x (N, C) -> cls (B, C): row offsets[b] of x.
    private func poolFirstTokens() {
        let d = h.hiddenSize
        for b in 0..<batch.sequences.count { (ws.cls + b * d).update(from: ws.x + batch.offsets[b] * d, count: d) }
    }

    /// x (N, C) -> cls (B, C): the mean of each sequence's rows. transformers: (h · mask).sum(1) / mask.sum(1) in fp32;
    /// summed here in double, then divided in fp32.
    private func poolMean() {
        let d = h.hiddenSize
        for b in 0..<batch.sequences.count {
            let dst = ws.cls + b * d, src = ws.x + batch.offsets[b] * d, len = batch.length(b)
            for j in 0..<d {
                var acc = 0.0
                for t in 0..<len { acc += Double(src[t * d + j]) }
                dst[j] = Float(acc) / Float(len)
            }
        }
    }

    /// cls (B, C) -> pooled (B, C) = act(cls · cls.poolᵀ + b), fp32.
    private func poolDense(_ act: PoolActivation) {
        let n = batch.sequences.count, d = h.hiddenSize, (weight, bias) = w.head.pool
        Kernels.linear(ws.cls, weight, bias, ws.pooled, m: n, n: d, k: d)
        switch act {
        case .tanh: Kernels.tanhInPlace(ws.pooled, count: n * d)
        case .relu: Kernels.relu(ws.pooled, count: n * d)
        case .gelu: Kernels.gelu(ws.pooled, count: n * d)
        case .geluTanh: Kernels.geluTanh(ws.pooled, count: n * d)
        }
    }
}

/// One int8 embedding row widened to fp32 (formats/quantization.md): row[j] = q[id, j]·scale[id, j / group] with
/// scales [vocab, ceil(width / group)]; `group` 0 is one scale per row (a single group of `width`). One fp32
/// multiply each.
func widenRow(_ table: UnsafePointer<Int8>, _ scales: UnsafePointer<Float>, id: Int, width: Int, group: Int,
              into row: UnsafeMutablePointer<Float>) {
    let q = table + id * width, group = group > 0 ? group : width
    let groups = (width + group - 1) / group, sc = scales + id * groups
    for g in 0..<groups {
        let s = sc[g]
        for j in g * group..<min(width, (g + 1) * group) { row[j] = Float(q[j]) * s }
    }
}
