import CECore
import CEGraph

/// DeBERTa-v2/v3 as ONNX (transformers modeling_deberta_v2.py; cetool's DisentangledAttention.swift computes the same):
/// `embedDebertaV2` and `disentangledBlock`, the ContextPooler and classifier being `poolFirstToken` and `classify`.
///
/// Relative positions: the rel_embd row that distance d = i − j reads, DebertaV2Parameters.relativeRow(d), is a constant
/// int64 table over d = −D…D, D the distance past which the row no longer changes (log buckets and the clamp saturate:
/// row 2·span − 1 above, 0 below). The graph clips i − j to ±D and gathers the table, so any sequence length is exact.
extension OnnxGraphExport {
    /// Whether the model reads `token_type_ids`: BERT and ELECTRA, and DeBERTa-v2 with type_vocab_size > 0 (optimum's
    /// DebertaV2OnnxConfig drops the input when the table is absent).
    static func readsTokenTypeIDs(_ graph: Graph) -> Bool {
        graph.architecture.usesTokenTypeIDs || graph.hyperparameters.debertaV2?.tokenTypes == true
    }

    /// Fixed names of the tensors `embedDebertaV2` computes once for every block.
    enum DebertaNames {
        /// int64 [2·D + 1]: relativeRow(d) at index d + D.
        static let rowOfDistance = "deberta.relative_row_of_distance"
        /// int64 [B, H, S, S]: c2p's rel_embd row of (i, j), relativeRow(i − j).
        static let c2pRows = "deberta.c2p_rows"
        /// int64 [B, H, S, S]: p2c's gather index before the transpose, at (j, i): relativeRow(i − j).
        static let p2cRows = "deberta.p2c_rows"
        /// float [2·span, hidden]: rel_embd, after rel_embd_norm when norm_rel_ebd has layer_norm.
        static let relative = "deberta.rel_embeddings"
    }

    /// The smallest D ≥ 0 with relativeRow(d) = rows − 1 for d ≥ D and 0 for d ≤ −D (relativeRow is monotone in d).
    /// Log buckets saturate by max_relative_positions, plain distances by span; `limit` bounds the search.
    static func saturationDistance(_ p: DebertaV2Parameters) -> Int {
        let limit = max(p.maxRelativePositions, p.attentionSpan) + 2
        var d = 0
        while d < limit, p.relativeRow(d) != p.relativeEmbeddingRows - 1 || p.relativeRow(-d) != 0 { d += 1 }
        return d
    }
}

extension OnnxGraphExport.Emitter {
    typealias Names = OnnxGraphExport.DebertaNames

    /// The DeBERTa parameters (present whenever the graph has DeBERTa ops: Graph.validate).
    func debertaParameters() throws -> DebertaV2Parameters {
        guard let p = h.debertaV2 else { throw GraphError.invalidHyperparameter(name: "debertaV2", reason: "missing for a DeBERTa-v2 op") }
        return p
    }

    /// token_embd[ids] (+ pos_embd[0..<S]) (+ type_embd[token_type_ids]), embd_proj when E != hidden, LayerNorm,
    /// times the attention mask (DebertaV2Embeddings); then the relative-position tensors every block reads.
    mutating func embedDebertaV2() throws {
        let s = "embeddings", p = try debertaParameters()
        var sum = try tokenRows(scope: s)
        if p.positionBiasedInput {
            sum = b.op("Add", [sum, b.op("Gather", [try weight(TensorName.positionEmbedding.weight), positionRange(scope: s)], scope: s)], scope: s)
        }
        if p.tokenTypes {
            sum = b.op("Add", [sum, b.op("Gather", [try weight(TensorName.typeEmbedding.weight), "token_type_ids"], scope: s)], scope: s)
        }
        if has(TensorName.embeddingProjection.weight) { sum = try linear(sum, TensorName.embeddingProjection, scope: s) }
        let mask = b.op("Unsqueeze", [b.op("Cast", ["attention_mask"], [.init("to", .int(Int64(Onnx.DataType.float.rawValue)))], scope: s),
                                      b.i64([2])], scope: s)
        x = b.op("Mul", [try layerNorm(sum, TensorName.embeddingNorm, scope: s), mask], scope: s)
        if p.hasRelativeTerms { try relativePositions(p) }
    }

    /// rel_embd (normed) and the [B, H, S, S] row indices of c2p and p2c (Names).
    func relativePositions(_ p: DebertaV2Parameters) throws {
        let s = "relative_positions"
        let rel = try weight(TensorName.relativeEmbedding.weight)
        let normed = p.normRelEmbedding ? try layerNorm(rel, TensorName.relativeEmbeddingNorm, scope: s) : rel
        b.add("Identity", [normed], scope: s, named: [Names.relative])
        let dMax = OnnxGraphExport.saturationDistance(p)
        let rows = (-dMax...dMax).map { Int64(p.relativeRow($0)) }
        let table = b.initializer(Onnx.Tensor(name: Names.rowOfDistance, dataType: .int64, dims: [Int64(rows.count)],
                                              raw: OnnxGraphBuilder.bytes(rows)))
        let r = positionRange(scope: s)
        // distance[i, j] = clip(i − j, −D, D) + D: [S, S]
        let diff = b.op("Sub", [b.op("Unsqueeze", [r, b.i64([1])], scope: s), b.op("Unsqueeze", [r, b.i64([0])], scope: s)], scope: s)
        let clipped = b.op("Clip", [diff, b.i64([Int64(-dMax)], scalar: true), b.i64([Int64(dMax)], scalar: true)], scope: s)
        let c2p = b.op("Gather", [table, b.op("Add", [clipped, b.i64([Int64(dMax)], scalar: true)], scope: s)], scope: s)
        // [B, H, S, S]
        let batch = b.op("Slice", [b.op("Shape", ["input_ids"], scope: s), b.i64([0]), b.i64([1])], scope: s)
        let len = b.op("Unsqueeze", [sequenceLength(scope: s), b.i64([0])], scope: s)
        let shape = b.op("Concat", [batch, b.i64([Int64(h.numAttentionHeads)]), len, len], [.init("axis", .int(0))], scope: s)
        b.add("Expand", [c2p, shape], scope: s, named: [Names.c2pRows])
        let p2c = b.op("Transpose", [c2p], [.init("perm", .ints([1, 0]))], scope: s)
        b.add("Expand", [p2c, shape], scope: s, named: [Names.p2cRows])
    }

    /// rel_embd projected by `layer` per head: [H, dh, 2·span] for q · posKᵀ / k · posQᵀ.
    func positionProjection(_ layer: Layer, scope: String) throws -> String {
        let y = try linear(Names.relative, layer, scope: scope)
        let r = b.op("Reshape", [y, b.i64([0, Int64(h.numAttentionHeads), Int64(h.headDim)])], scope: scope)
        return b.op("Transpose", [r], [.init("perm", .ints([1, 2, 0]))], scope: scope)
    }

    /// Post-norm block whose scores are (q·kᵀ + c2p + p2c) / √(dh · scaleFactor) + mask (DisentangledSelfAttention).
    mutating func disentangledBlock(_ i: Int) throws {
        let s = "encoder/layer.\(i)", p = try debertaParameters()
        let mask = paddingMask()
        let q = splitHeads(try linear(x, TensorName.attnQ(i), scope: s), scope: s)
        let k = splitHeads(try linear(x, TensorName.attnK(i), scope: s), scope: s)
        let v = splitHeads(try linear(x, TensorName.attnV(i), scope: s), scope: s)
        // [B, H, S, S]
        var scores = b.op("MatMul", [q, b.op("Transpose", [k], [.init("perm", .ints([0, 1, 3, 2]))], scope: s)], scope: s)
        if p.hasRelativeTerms, p.c2p {
            // c2p[b, h, i, j] = q_i · posK[row(i − j)]
            let posK = try positionProjection(p.shareAttKey ? TensorName.attnK(i) : TensorName.attnPosK(i), scope: s)
            let all = b.op("MatMul", [q, posK], scope: s)
            scores = b.op("Add", [scores, b.op("GatherElements", [all, Names.c2pRows], [.init("axis", .int(-1))], scope: s)], scope: s)
        }
        if p.hasRelativeTerms, p.p2c {
            // p2c[b, h, i, j] = k_j · posQ[row(i − j)]: gathered at (j, i), then transposed
            let posQ = try positionProjection(p.shareAttKey ? TensorName.attnQ(i) : TensorName.attnPosQ(i), scope: s)
            let all = b.op("MatMul", [k, posQ], scope: s)
            let gathered = b.op("GatherElements", [all, Names.p2cRows], [.init("axis", .int(-1))], scope: s)
            scores = b.op("Add", [scores, b.op("Transpose", [gathered], [.init("perm", .ints([0, 1, 3, 2]))], scope: s)], scope: s)
        }
        let scale = b.f32(1 / (Float(h.headDim) * Float(p.scaleFactor)).squareRoot())
        let probs = b.op("Softmax", [b.op("Add", [b.op("Mul", [scores, scale], scope: s), mask], scope: s)], [.init("axis", .int(-1))], scope: s)
        let ctx = b.op("Transpose", [b.op("MatMul", [probs, v], scope: s)], [.init("perm", .ints([0, 2, 1, 3]))], scope: s)
        let merged = b.op("Reshape", [ctx, b.i64([0, 0, Int64(h.hiddenSize)])], scope: s)
        let attended = try layerNorm(b.op("Add", [try linear(merged, TensorName.attnOut(i), scope: s), x], scope: s), TensorName.attnNorm(i), scope: s)
        let up = hiddenActivation(try linear(attended, TensorName.ffnUp(i), scope: s), scope: s)
        x = try layerNorm(b.op("Add", [try linear(up, TensorName.ffnDown(i), scope: s), attended], scope: s), TensorName.ffnNorm(i), scope: s)
    }
}
