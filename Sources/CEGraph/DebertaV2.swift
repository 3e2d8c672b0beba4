import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// DeBERTa-v2/v3's options beyond the shared hyperparameters (transformers DebertaV2Config as
/// modeling_deberta_v2.py reads it), config.json names in camelCase.
public struct DebertaV2Parameters: Sendable, Codable, Equatable {
    /// Disentangled relative-position terms are added to the attention scores. `relative_attention`.
    public var relativeAttention: Bool
    /// > 0: relative distances are mapped to log buckets (make_log_bucket_position); ≤ 0: distances as they are.
    /// `position_buckets`.
    public var positionBuckets: Int
    /// `max_relative_positions`, resolved: a value < 1 in config.json means max_position_embeddings.
    public var maxRelativePositions: Int
    /// Content-to-position term (query · position key). "c2p" in `pos_att_type`.
    public var c2p: Bool
    /// Position-to-content term (key · position query). "p2c" in `pos_att_type`.
    public var p2c: Bool
    /// Position keys/queries come from the content key_proj / query_proj (`share_att_key`); else from the block's own
    /// pos_key_proj / pos_query_proj (attn_pos_k, attn_pos_q).
    public var shareAttKey: Bool
    /// rel_embeddings pass through a LayerNorm (rel_embd_norm) before use. "layer_norm" in `norm_rel_ebd`.
    public var normRelEmbedding: Bool
    /// Absolute position embeddings are added to the token embeddings (pos_embd exists). `position_biased_input`.
    public var positionBiasedInput: Bool
    /// A token type table exists (`type_vocab_size` > 0; deberta-v3 has none) and token type ids index it.
    public var tokenTypes: Bool
    /// The ContextPooler's activation after cls.pool. `pooler_hidden_act`.
    public var poolerActivation: PoolActivation

    public init(relativeAttention: Bool, positionBuckets: Int, maxRelativePositions: Int, c2p: Bool, p2c: Bool, shareAttKey: Bool,
                normRelEmbedding: Bool, positionBiasedInput: Bool, tokenTypes: Bool, poolerActivation: PoolActivation) {
        self.relativeAttention = relativeAttention
        self.positionBuckets = positionBuckets
        self.maxRelativePositions = maxRelativePositions
        self.c2p = c2p
        self.p2c = p2c
        self.shareAttKey = shareAttKey
        self.normRelEmbedding = normRelEmbedding
        self.positionBiasedInput = positionBiasedInput
        self.tokenTypes = tokenTypes
        self.poolerActivation = poolerActivation
    }

    /// transformers' att_span (pos_ebd_size): position_buckets when > 0, else max_relative_positions.
    public var attentionSpan: Int { positionBuckets > 0 ? positionBuckets : maxRelativePositions }
    /// Rows of rel_embd: 2 · att_span.
    public var relativeEmbeddingRows: Int { 2 * attentionSpan }
    /// The score scale's factor: 1 + one per "c2p" / "p2c" entry (counted whether or not relative_attention is on);
    /// every term is divided by √(head size · factor).
    public var scaleFactor: Int { 1 + (c2p ? 1 : 0) + (p2c ? 1 : 0) }
    /// Whether any relative-position term is computed.
    public var hasRelativeTerms: Bool { relativeAttention && (c2p || p2c) }

    /// The relative position id of distance q − k (transformers make_log_bucket_position, in fp32 as torch computes it):
    /// with mid = buckets / 2, distances in (−mid, mid) are kept, others become
    /// sign · (ceil(log(|d| / mid) / log((maxRelativePositions − 1) / mid) · (mid − 1)) + mid). Without buckets, d itself.
    public func bucket(_ d: Int) -> Int {
        guard positionBuckets > 0, maxRelativePositions > 0 else { return d }
        let mid = positionBuckets / 2
        if d < mid && d > -mid { return d }
        let a = Float(abs(d)), m = Float(mid)
        if a <= m { return d }
        let ratio = Float(Double(maxRelativePositions - 1) / Double(mid))
        let logPos = (CMath.log(a / m) / CMath.log(ratio) * Float(mid - 1)).rounded(.up) + m
        return d < 0 ? -Int(logPos) : Int(logPos)
    }

    /// The rel_embd row distance q − k reads: clamp(bucket(d) + att_span, 0, 2·att_span − 1) (c2p_pos; p2c_pos is the
    /// same row, since the bucket is odd in d).
    public func relativeRow(_ d: Int) -> Int { min(max(bucket(d) + attentionSpan, 0), relativeEmbeddingRows - 1) }
}

extension TensorName {
    /// DeBERTa's encoder.rel_embeddings: [2·att_span, hidden].
    public static let relativeEmbedding: Layer = "rel_embd"
    /// DeBERTa's encoder.LayerNorm over rel_embd rows (norm_rel_ebd "layer_norm"): [hidden].
    public static let relativeEmbeddingNorm: Layer = "rel_embd_norm"
    /// DeBERTa's pos_key_proj (c2p without share_att_key): [hidden, hidden] + bias.
    public static func attnPosK(_ i: Int) -> Layer { Layer("blk.\(i).attn_pos_k") }
    /// DeBERTa's pos_query_proj (p2c without share_att_key): [hidden, hidden] + bias.
    public static func attnPosQ(_ i: Int) -> Layer { Layer("blk.\(i).attn_pos_q") }

    /// DeBERTa-v2's tensors: embeddings (pos_embd when position-biased, type_embd when token types exist, embd_proj
    /// [hidden, E] without bias when E != hidden, embd_norm at hidden), rel_embd (+ its norm), BERT-shaped blocks with
    /// the optional position projections, the ContextPooler (cls.pool) and the classifier.
    static func requiredDebertaV2(_ h: Hyperparameters, _ p: DebertaV2Parameters) -> [(String, Shape)] {
        let d = h.hiddenSize, f = h.intermediateSize, e = h.embeddingSize
        var out: [(String, Shape)] = [(tokenEmbedding.weight, [h.vocabSize, e])]
        if p.positionBiasedInput { out.append((positionEmbedding.weight, [h.maxPositionEmbeddings, e])) }
        if p.tokenTypes { out.append((typeEmbedding.weight, [h.typeVocabSize, e])) }
        if e != d { out.append((embeddingProjection.weight, [d, e])) }
        out += [(embeddingNorm.weight, Shape([d])), (embeddingNorm.bias, Shape([d]))]
        if p.relativeAttention {
            out.append((relativeEmbedding.weight, [p.relativeEmbeddingRows, d]))
            if p.normRelEmbedding { out += [(relativeEmbeddingNorm.weight, Shape([d])), (relativeEmbeddingNorm.bias, Shape([d]))] }
        }
        func linear(_ n: Layer, _ rows: Int, _ cols: Int) { out += [(n.weight, Shape([rows, cols])), (n.bias, Shape([rows]))] }
        for i in 0..<h.numHiddenLayers {
            for n in [attnQ(i), attnK(i), attnV(i), attnOut(i)] { linear(n, d, d) }
            if p.relativeAttention, !p.shareAttKey {
                if p.c2p { linear(attnPosK(i), d, d) }
                if p.p2c { linear(attnPosQ(i), d, d) }
            }
            out += [(attnNorm(i).weight, Shape([d])), (attnNorm(i).bias, Shape([d]))]
            linear(ffnUp(i), f, d)
            linear(ffnDown(i), d, f)
            out += [(ffnNorm(i).weight, Shape([d])), (ffnNorm(i).bias, Shape([d]))]
        }
        if h.numLabels == 0 { return out }
        linear(classifierPool, d, d)
        linear(classifierOut, h.numLabels, d)
        return out
    }
}

extension Graph {
    /// DeBERTa-v2's op list: embedDebertaV2, one disentangledBlock per layer, then the ContextPooler and the classifier.
    func debertaV2Ops(_ p: DebertaV2Parameters) -> [Op] {
        var ops: [Op] = [.embedDebertaV2]
        for i in 0..<hyperparameters.numHiddenLayers { ops.append(.disentangledBlock(i)) }
        return isEncoderOnly ? ops : ops + [.poolFirstToken(p.poolerActivation), .classify]
    }

    /// DeBERTa-v2's checks beyond the tensor list.
    func validateDebertaV2(_ p: DebertaV2Parameters) throws {
        guard p.relativeAttention else { return }
        guard p.attentionSpan >= 1, p.attentionSpan <= 1 << 16 else {
            throw GraphError.invalidHyperparameter(name: "position_buckets", reason: "relative attention span \(p.attentionSpan) is outside 1...65536")
        }
        if p.positionBuckets > 0 {
            // mid = buckets / 2 ≥ 1 and (max_relative_positions − 1) / mid > 1, or the log scale divides by zero.
            guard p.positionBuckets >= 2, p.maxRelativePositions > p.positionBuckets / 2 + 1 else {
                throw GraphError.invalidHyperparameter(name: "position_buckets", reason: "\(p.positionBuckets) buckets over max_relative_positions \(p.maxRelativePositions) give no log scale")
            }
        }
    }
}
