import CEGraph

extension TrainPass {
    // MARK: encoderBlock (post-norm: BERT, RoBERTa, DistilBERT, ELECTRA)

    /// [attn_q; attn_k; attn_v] (3C, C) and their biases (3C): one linear for the three.
    func fusedQKV(_ i: Int) -> (w: [T], b: [T]) {
        let names = [TensorName.attnQ(i), TensorName.attnK(i), TensorName.attnV(i)]
        return (names.flatMap { p[$0.weight] }, names.flatMap { p[$0.bias] })
    }

    /// `encoderBlock(i)`: x0 (N, C) -> qkv (N, 3C) -> ctx (N, C); x1 = LN(x0 + drop(ctx·attn_outᵀ + b));
    /// x2 = LN(x1 + drop(act(x1·ffn_upᵀ + b) (N, F) · ffn_downᵀ + b)).
    func postNormBlockForward(_ i: Int, rng: inout SeededGenerator?) {
        let n = total, c = h.hiddenSize, f = h.intermediateSize, act = Activation(h.hiddenAct), drop = model.dropout
        let (w3, b3) = fusedQKV(i)
        let qkv = linearForward(x, w3, b3, m: n, n: 3 * c, k: c)
        let (ctx, masks) = attention(qkv, window: nil, rng: &rng)
        var a = linear(ctx, TensorName.attnOut(i), m: n, n: c, k: c)
        let attnMask = DropoutMask(a.count, drop.attentionOutput, &rng)
        applyMask(&a, attnMask)
        for j in 0..<a.count { a[j] += x[j] }
        let (x1, norm1) = layerNorm(a, TensorName.attnNorm(i), rows: n, width: c)
        let up = linear(x1, TensorName.ffnUp(i), m: n, n: f, k: c)
        let g = activationForward(up, act)
        var d = linear(g, TensorName.ffnDown(i), m: n, n: c, k: f)
        let ffnMask = DropoutMask(d.count, drop.feedForward, &rng)
        applyMask(&d, ffnMask)
        for j in 0..<d.count { d[j] += x1[j] }
        let (x2, norm2) = layerNorm(d, TensorName.ffnNorm(i), rows: n, width: c)
        blocks[i] = BlockCache(input: x, qkvInput: x, inputNorm: nil, qkv: qkv, probMasks: masks, ctx: ctx,
                               attnMask: attnMask, midNorm: norm1, ffnInput: x1, up: up, ffnMask: ffnMask, outNorm: norm2)
        x = x2
    }

    /// dx2 (N, C) -> dx0 (N, C), through both residuals and LayerNorms.
    func postNormBlockBackward(_ i: Int, _ grads: inout Parameters<T>) {
        let n = total, c = h.hiddenSize, f = h.intermediateSize, act = Activation(h.hiddenAct), k = blocks[i]!
        let dr2 = layerNormBack(dx, k.outNorm!, TensorName.ffnNorm(i), rows: n, width: c, &grads)
        var dd = dr2
        applyMask(&dd, k.ffnMask)
        let dg = linearBack(dd, activationForward(k.up, act), TensorName.ffnDown(i), m: n, n: c, k: f, &grads)
        let du = activationBackward(dg, k.up, act)
        var dx1 = linearBack(du, k.ffnInput, TensorName.ffnUp(i), m: n, n: f, k: c, &grads)
        for j in 0..<dx1.count { dx1[j] += dr2[j] }
        let dr1 = layerNormBack(dx1, k.midNorm, TensorName.attnNorm(i), rows: n, width: c, &grads)
        var da = dr1
        applyMask(&da, k.attnMask)
        let dctx = linearBack(da, k.ctx, TensorName.attnOut(i), m: n, n: c, k: c, &grads)
        let dqkv = attentionBack(dctx, k.qkv, window: nil, k.probMasks)
        var dw3 = [T](repeating: 0, count: 3 * c * c), db3 = [T](repeating: 0, count: 3 * c)
        var dx0 = linearBackward(dqkv, k.input, fusedQKV(i).w, m: n, n: 3 * c, k: c, dw: &dw3, db: &db3)
        for (s, name) in [TensorName.attnQ(i), TensorName.attnK(i), TensorName.attnV(i)].enumerated() {
            var w = grads.take(name.weight), b = grads.take(name.bias)
            for j in 0..<(c * c) { w[j] += dw3[s * c * c + j] }
            for j in 0..<c { b[j] += db3[s * c + j] }
            grads.put(name.weight, w); grads.put(name.bias, b)
        }
        for j in 0..<dx0.count { dx0[j] += dr1[j] }
        blocks[i] = nil
        dx = dx0
    }

    // MARK: preNormBlock (ModernBERT)

    /// transformers' sliding_window of a local layer; nil for a global one.
    func window(_ span: AttentionSpan) -> Int? { span == .local ? h.modernBERT!.halfWindow : nil }

    func rotaryTable(_ span: AttentionSpan) -> (cos: [T], sin: [T]) {
        if let t = rotaryTables[span] { return t }
        let longest = sequences.map { $0.ids.count }.max() ?? 0
        let t: (cos: [T], sin: [T]) = CETrain.rotaryTables(theta: h.modernBERT!.ropeTheta(span), headDim: h.headDim, length: longest)
        rotaryTables[span] = t
        return t
    }

    /// q and k of qkv (N, 3C) rotated per sequence (positions 0 ..< len); `inverse` is the backward.
    func rotateQK(_ qkv: inout [T], _ span: AttentionSpan, inverse: Bool) {
        let c = h.hiddenSize, t = rotaryTable(span)
        for (b, s) in sequences.enumerated() {
            for part in 0..<2 {
                rotary(&qkv, base: offsets[b] * 3 * c + part * c, ld: 3 * c, len: s.ids.count, heads: h.numAttentionHeads,
                       headDim: h.headDim, cos: t.cos, sin: t.sin, inverse: inverse)
            }
        }
    }

    /// `preNormBlock(i, span)`: x0 (N, C); h = LN(x0) (x0 in block 0); qkv (N, 3C) = h·attn_qkvᵀ + b, rotary on q, k;
    /// x1 = x0 + drop(ctx·attn_outᵀ + b); uv (N, 2F) = LN(x1)·ffn_upᵀ + b; x2 = x1 + drop(act(u) ⊙ g)·ffn_downᵀ + b.
    func preNormBlockForward(_ i: Int, _ span: AttentionSpan, rng: inout SeededGenerator?) {
        let n = total, c = h.hiddenSize, f = h.intermediateSize, act = Activation(h.hiddenAct), drop = model.dropout
        var hIn = x, norm0: LayerNormCache<T>? = nil
        if i > 0 { (hIn, norm0) = layerNorm(x, TensorName.attnNorm(i), rows: n, width: c) }
        var qkv = linear(hIn, TensorName.attnQKV(i), m: n, n: 3 * c, k: c)
        rotateQK(&qkv, span, inverse: false)
        let (ctx, masks) = attention(qkv, window: window(span), rng: &rng)
        var a = linear(ctx, TensorName.attnOut(i), m: n, n: c, k: c)
        let attnMask = DropoutMask(a.count, drop.attentionOutput, &rng)
        applyMask(&a, attnMask)
        for j in 0..<a.count { a[j] += x[j] }
        let (h2, norm1) = layerNorm(a, TensorName.ffnNorm(i), rows: n, width: c)
        let uv = linear(h2, TensorName.ffnUp(i), m: n, n: 2 * f, k: c)
        var z = gatedForward(uv, rows: n, width: f, act)
        let ffnMask = DropoutMask(z.count, drop.feedForward, &rng)
        applyMask(&z, ffnMask)
        var x2 = linear(z, TensorName.ffnDown(i), m: n, n: c, k: f)
        for j in 0..<x2.count { x2[j] += a[j] }
        blocks[i] = BlockCache(input: x, qkvInput: hIn, inputNorm: norm0, qkv: qkv, probMasks: masks, ctx: ctx,
                               attnMask: attnMask, midNorm: norm1, ffnInput: h2, up: uv, ffnMask: ffnMask, outNorm: nil)
        x = x2
    }

    /// dx2 (N, C) -> dx0 (N, C).
    func preNormBlockBackward(_ i: Int, _ span: AttentionSpan, _ grads: inout Parameters<T>) {
        let n = total, c = h.hiddenSize, f = h.intermediateSize, act = Activation(h.hiddenAct), k = blocks[i]!
        var z = gatedForward(k.up, rows: n, width: f, act)
        applyMask(&z, k.ffnMask)
        var dz = linearBack(dx, z, TensorName.ffnDown(i), m: n, n: c, k: f, &grads)
        applyMask(&dz, k.ffnMask)
        let duv = gatedBackward(dz, k.up, rows: n, width: f, act)
        let dh2 = linearBack(duv, k.ffnInput, TensorName.ffnUp(i), m: n, n: 2 * f, k: c, &grads)
        var dx1 = layerNormBack(dh2, k.midNorm, TensorName.ffnNorm(i), rows: n, width: c, &grads)
        for j in 0..<dx1.count { dx1[j] += dx[j] }
        var da = dx1
        applyMask(&da, k.attnMask)
        let dctx = linearBack(da, k.ctx, TensorName.attnOut(i), m: n, n: c, k: c, &grads)
        var dqkv = attentionBack(dctx, k.qkv, window: window(span), k.probMasks)
        rotateQK(&dqkv, span, inverse: true)
        var dh = linearBack(dqkv, k.qkvInput, TensorName.attnQKV(i), m: n, n: 3 * c, k: c, &grads)
        if let norm0 = k.inputNorm { dh = layerNormBack(dh, norm0, TensorName.attnNorm(i), rows: n, width: c, &grads) }
        for j in 0..<dh.count { dh[j] += dx1[j] }
        blocks[i] = nil
        dx = dh
    }

    // MARK: outputNorm

    /// `outputNorm`: x (N, C) = LN(x; output_norm).
    func outputNormForward() {
        let (y, cache) = layerNorm(x, TensorName.outputNorm, rows: total, width: h.hiddenSize)
        outputNormCache = cache
        x = y
    }

    /// dx (N, C) -> dx (N, C).
    func outputNormBackward(_ grads: inout Parameters<T>) {
        dx = layerNormBack(dx, outputNormCache!, TensorName.outputNorm, rows: total, width: h.hiddenSize, &grads)
    }

    // MARK: poolFirstToken, poolHead

    /// `poolFirstToken(act)` / `poolHead(pooling, act)`: x (N, C) -> first (B, C) (first token, or mean over the
    /// sequence) -> [drop] -> act(first·cls.poolᵀ + b) -> [LN(cls.pool_norm)] -> drop -> pooled (B, C).
    func poolForward(_ pooling: Pooling, _ act: Activation, norm: Layer?, rng: inout SeededGenerator?) {
        let c = h.hiddenSize, bs = sequences.count, drop = model.dropout
        var first = [T](repeating: 0, count: bs * c)
        for (b, s) in sequences.enumerated() {
            switch pooling {
            case .cls: for j in 0..<c { first[b * c + j] = x[offsets[b] * c + j] }
            case .mean:
                for t in 0..<s.ids.count { for j in 0..<c { first[b * c + j] += x[(offsets[b] + t) * c + j] } }
                for j in 0..<c { first[b * c + j] /= T(s.ids.count) }
            }
        }
        let inMask = DropoutMask(first.count, drop.headInput, &rng)
        applyMask(&first, inMask)
        let z = linear(first, TensorName.classifierPool, m: bs, n: c, k: c)
        var y = activationForward(z, act), cache: LayerNormCache<T>? = nil
        if let norm { (y, cache) = layerNorm(y, norm, rows: bs, width: c) }
        let outMask = DropoutMask(y.count, drop.headOutput, &rng)
        applyMask(&y, outMask)
        poolCache = PoolCache(first: first, inMask: inMask, preAct: z, norm: cache, outMask: outMask)
        pooled = y
    }

    /// dpooled (B, C) -> dx (N, C), non-zero only in the rows the pooling read.
    func poolBackward(_ pooling: Pooling, _ act: Activation, norm: Layer?, _ grads: inout Parameters<T>) {
        let c = h.hiddenSize, bs = sequences.count, k = poolCache!
        var dy = dpooled
        applyMask(&dy, k.outMask)
        if let norm { dy = layerNormBack(dy, k.norm!, norm, rows: bs, width: c, &grads) }
        let dz = activationBackward(dy, k.preAct, act)
        var dfirst = linearBack(dz, k.first, TensorName.classifierPool, m: bs, n: c, k: c, &grads)
        applyMask(&dfirst, k.inMask)
        dx = [T](repeating: 0, count: total * c)
        for (b, s) in sequences.enumerated() {
            switch pooling {
            case .cls: for j in 0..<c { dx[offsets[b] * c + j] = dfirst[b * c + j] }
            case .mean:
                let inv = 1 / T(s.ids.count)
                for t in 0..<s.ids.count { for j in 0..<c { dx[(offsets[b] + t) * c + j] = dfirst[b * c + j] * inv } }
            }
        }
    }

    // MARK: classify

    /// `classify`: pooled (B, C) -> logits (B, L) = pooled·cls.outᵀ + b.
    func classifyForward() {
        logits = linear(pooled, TensorName.classifierOut, m: sequences.count, n: h.numLabels, k: h.hiddenSize)
    }

    /// dlogits (B, L) -> dpooled (B, C).
    func classifyBackward(_ grads: inout Parameters<T>) {
        dpooled = linearBack(dlogits, pooled, TensorName.classifierOut, m: sequences.count, n: h.numLabels, k: h.hiddenSize, &grads)
    }
}
