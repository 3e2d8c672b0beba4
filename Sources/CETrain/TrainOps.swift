import CEGraph

// Each op's forward beside its backward, in formats/graph.md's op table order. Shapes: N tokens of the pass
// (packed), B sequences, C hidden, E embedding size, F intermediate, H heads of D = C / H, L labels.

struct EmbedCache<T: TrainScalar> {
    var norm: LayerNormCache<T>
    var positions: [Int]
    var mask: DropoutMask
}

struct BlockCache<T: TrainScalar> {
    /// The block's input x0 (N, C) and the input of the QKV linear (x0, or LN(x0) in a pre-norm block).
    var input: [T]
    var qkvInput: [T]
    var inputNorm: LayerNormCache<T>?
    /// qkv (N, 3C) as attention read it (rotated in a pre-norm block); the dropout masks of P per (sequence, head).
    var qkv: [T]
    var probMasks: [DropoutMask]
    var ctx: [T]
    var attnMask: DropoutMask
    /// Post-norm: LN after attention, its output x1 (the FFN's input), up (N, F) before the activation, its output.
    /// Pre-norm: the FFN's LN, its output, uv (N, 2F). The activation's output is computed again in the backward.
    var midNorm: LayerNormCache<T>
    var ffnInput: [T]
    var up: [T]
    var ffnMask: DropoutMask
    var outNorm: LayerNormCache<T>?
}

struct PoolCache<T: TrainScalar> {
    var first: [T]
    var inMask: DropoutMask
    var preAct: [T]
    var norm: LayerNormCache<T>?
    var outMask: DropoutMask
}

extension TrainPass {
    // MARK: embed, embedTokens

    /// `embed`: ids (N) -> x (N, E) = LN(token_embd[id] + pos_embd[position] + type_embd[type]), then dropout.
    /// `embedTokens` (ModernBERT): the token row only.
    func embedForward(rng: inout SeededGenerator?) {
        let e = h.embeddingSize, a = model.graph.architecture
        let tok = p[TensorName.tokenEmbedding.weight], pos = p[TensorName.positionEmbedding.weight]
        let typ = p[TensorName.typeEmbedding.weight]
        var emb = [T](repeating: 0, count: total * e), positions: [Int] = []
        for (b, s) in sequences.enumerated() {
            let ps = model.graph.positions(of: s.ids)
            positions += ps
            for t in 0..<s.ids.count {
                let r = (offsets[b] + t) * e, id = Int(s.ids[t]), ty = a.usesTokenTypeIDs ? Int(s.typeIDs[t]) : 0
                for j in 0..<e { emb[r + j] = tok[id * e + j] }
                if !pos.isEmpty { for j in 0..<e { emb[r + j] += pos[ps[t] * e + j] } }
                if !typ.isEmpty { for j in 0..<e { emb[r + j] += typ[ty * e + j] } }
            }
        }
        var (y, norm) = layerNorm(emb, TensorName.embeddingNorm, rows: total, width: e)
        let mask = DropoutMask(y.count, model.dropout.embeddings, &rng)
        applyMask(&y, mask)
        embedCache = EmbedCache(norm: norm, positions: positions, mask: mask)
        x = y
    }

    /// dx (N, E) -> rows of token_embd, pos_embd, type_embd. No gradient reaches the padding_idx rows
    /// (pad_token_id of the word table, and of RoBERTa's position table), as torch.nn.Embedding(padding_idx=).
    func embedBackward(_ grads: inout Parameters<T>) {
        let e = h.embeddingSize, a = model.graph.architecture, c = embedCache!, pad = h.padTokenID
        applyMask(&dx, c.mask)
        let d = layerNormBack(dx, c.norm, TensorName.embeddingNorm, rows: total, width: e, &grads)
        var tok = grads.take(TensorName.tokenEmbedding.weight), pos = grads.take(TensorName.positionEmbedding.weight)
        var typ = grads.take(TensorName.typeEmbedding.weight)
        for (b, s) in sequences.enumerated() {
            for t in 0..<s.ids.count {
                let r = (offsets[b] + t) * e, id = Int(s.ids[t]), position = c.positions[offsets[b] + t]
                if id != pad { for j in 0..<e { tok[id * e + j] += d[r + j] } }
                if !pos.isEmpty, !(a == .roberta && position == pad) { for j in 0..<e { pos[position * e + j] += d[r + j] } }
                if !typ.isEmpty {
                    let ty = a.usesTokenTypeIDs ? Int(s.typeIDs[t]) : 0
                    for j in 0..<e { typ[ty * e + j] += d[r + j] }
                }
            }
        }
        grads.put(TensorName.tokenEmbedding.weight, tok); grads.put(TensorName.positionEmbedding.weight, pos)
        grads.put(TensorName.typeEmbedding.weight, typ)
        dx = []
    }

    // MARK: projectEmbeddings

    /// `projectEmbeddings`: x (N, E) -> x (N, C) = x·embd_projᵀ + b.
    func projectEmbeddingsForward() {
        projectInput = x
        x = linear(x, TensorName.embeddingProjection, m: total, n: h.hiddenSize, k: h.embeddingSize)
    }

    /// dx (N, C) -> dx (N, E).
    func projectEmbeddingsBackward(_ grads: inout Parameters<T>) {
        dx = linearBack(dx, projectInput, TensorName.embeddingProjection, m: total, n: h.hiddenSize, k: h.embeddingSize, &grads)
    }

    // MARK: attention over the packed sequences

    /// qkv (N, 3C) -> ctx (N, C); the dropout masks of P per (sequence, head).
    func attention(_ qkv: [T], window: Int?, rng: inout SeededGenerator?) -> (ctx: [T], masks: [DropoutMask]) {
        let c = h.hiddenSize, heads = h.numAttentionHeads, dh = h.headDim
        var ctx = [T](repeating: 0, count: total * c), masks: [DropoutMask] = []
        for (b, s) in sequences.enumerated() {
            let len = s.ids.count
            for hd in 0..<heads {
                let mask = DropoutMask(len * len, model.dropout.attentionProbs, &rng)
                qkv.withUnsafeBufferPointer { q in
                    ctx.withUnsafeMutableBufferPointer { o in
                        let base = q.baseAddress! + offsets[b] * 3 * c + hd * dh
                        attentionForward(q: base, k: base + c, v: base + 2 * c, ld: 3 * c, ctx: o.baseAddress! + offsets[b] * c + hd * dh,
                                         ldOut: c, len: len, headDim: dh, window: window, dropMask: mask)
                    }
                }
                masks.append(mask)
            }
        }
        return (ctx, masks)
    }

    /// dctx (N, C) -> dqkv (N, 3C).
    func attentionBack(_ dctx: [T], _ qkv: [T], window: Int?, _ masks: [DropoutMask]) -> [T] {
        let c = h.hiddenSize, heads = h.numAttentionHeads, dh = h.headDim
        var dqkv = [T](repeating: 0, count: total * 3 * c)
        for (b, s) in sequences.enumerated() {
            for hd in 0..<heads {
                let i = b * heads + hd, o = offsets[b]
                qkv.withUnsafeBufferPointer { q in dctx.withUnsafeBufferPointer { dc in dqkv.withUnsafeMutableBufferPointer { dq in
                    let base = q.baseAddress! + o * 3 * c + hd * dh, dbase = dq.baseAddress! + o * 3 * c + hd * dh
                    attentionBackward(dctx: dc.baseAddress! + o * c + hd * dh, ldOut: c, q: base, k: base + c, v: base + 2 * c, ld: 3 * c,
                                      dq: dbase, dk: dbase + c, dv: dbase + 2 * c, len: s.ids.count, headDim: dh, window: window,
                                      dropMask: masks[i])
                } } }
            }
        }
        return dqkv
    }
}
