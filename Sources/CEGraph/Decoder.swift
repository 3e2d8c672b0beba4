import CECore

/// The decoder family a `decoder` graph came from (config.json `model_type`). The graph is the same for all three;
/// the family fixes which optional tensors exist (formats/graph.md, "Decoders").
public enum DecoderFamily: String, Sendable, Codable, CaseIterable {
    /// Qwen3ForSequenceClassification: per-head RMSNorm of q and k before rotary, `attention_bias` on q/k/v/o.
    case qwen3
    /// Qwen2ForSequenceClassification: q/k/v always with bias, o without; no q/k norm.
    case qwen2
    /// LlamaForSequenceClassification: `attention_bias` on q/k/v/o, `mlp_bias` on gate/up/down; no q/k norm.
    case llama
}

/// A decoder's options beyond the shared hyperparameters, config.json names in camelCase.
public struct DecoderParameters: Sendable, Codable, Equatable {
    public var family: DecoderFamily
    /// `num_key_value_heads`: heads of k and v; query head h reads kv head h / (heads / numKeyValueHeads) (repeat_kv).
    public var numKeyValueHeads: Int
    /// `head_dim` (Qwen3's default 128; Qwen2 and Llama: hidden_size / num_attention_heads unless given).
    public var headDim: Int
    /// `rope_parameters.rope_theta` (hub-era `rope_theta`): the rotary base.
    public var ropeTheta: Double
    /// q, k and v carry biases (Qwen2 always; Qwen3 and Llama `attention_bias`).
    public var qkvBias: Bool
    /// o_proj carries a bias (Qwen3 and Llama `attention_bias`; never Qwen2).
    public var outputBias: Bool
    /// gate/up/down carry biases (Llama `mlp_bias`).
    public var mlpBias: Bool
    /// The pad id the score is pooled around (the last token whose id differs from it); nil: the last token.
    public var poolPadTokenID: Int?

    public init(family: DecoderFamily, numKeyValueHeads: Int, headDim: Int, ropeTheta: Double, qkvBias: Bool, outputBias: Bool,
                mlpBias: Bool, poolPadTokenID: Int?) {
        self.family = family
        self.numKeyValueHeads = numKeyValueHeads
        self.headDim = headDim
        self.ropeTheta = ropeTheta
        self.qkvBias = qkvBias
        self.outputBias = outputBias
        self.mlpBias = mlpBias
        self.poolPadTokenID = poolPadTokenID
    }

    /// Qwen3's q_norm / k_norm (RMSNorm over each head's headDim values).
    public var qkNorm: Bool { family == .qwen3 }

    /// transformers' architecture name of the family's sequence-classification model.
    public var sequenceClassificationName: String {
        switch family {
        case .qwen3: return "Qwen3ForSequenceClassification"
        case .qwen2: return "Qwen2ForSequenceClassification"
        case .llama: return "LlamaForSequenceClassification"
        }
    }
}

extension TensorName {
    /// Qwen3's per-head q RMSNorm gain [headDim].
    public static func attnQNorm(_ i: Int) -> Layer { Layer("blk.\(i).attn_q_norm") }
    /// Qwen3's per-head k RMSNorm gain [headDim].
    public static func attnKNorm(_ i: Int) -> Layer { Layer("blk.\(i).attn_k_norm") }
    /// A decoder's gate_proj [intermediate, hidden]: silu(gate · h) ⊙ (ffn_up · h).
    public static func ffnGate(_ i: Int) -> Layer { Layer("blk.\(i).ffn_gate") }

    /// The linears that read block i's feed-forward input: a decoder's gate and up (fused at run time, one smoothing
    /// vector and one set of calibration statistics, stored under the first), else ffn_up alone.
    public static func ffnInputs(_ a: Architecture, _ i: Int) -> [Layer] {
        a == .decoder ? [ffnGate(i), ffnUp(i)] : [ffnUp(i)]
    }

    /// A decoder's tensors (RMSNorms have a gain only; `score` has no bias).
    static func requiredDecoder(_ h: Hyperparameters, _ m: DecoderParameters) -> [(String, Shape)] {
        let d = h.hiddenSize, f = h.intermediateSize, q = h.numAttentionHeads * m.headDim, kv = m.numKeyValueHeads * m.headDim
        var out: [(String, Shape)] = [(tokenEmbedding.weight, [h.vocabSize, d])]
        func linear(_ n: Layer, _ rows: Int, _ cols: Int, bias: Bool) {
            out.append((n.weight, [rows, cols]))
            if bias { out.append((n.bias, [rows])) }
        }
        for i in 0..<h.numHiddenLayers {
            out.append((attnNorm(i).weight, Shape([d])))
            linear(attnQ(i), q, d, bias: m.qkvBias)
            linear(attnK(i), kv, d, bias: m.qkvBias)
            linear(attnV(i), kv, d, bias: m.qkvBias)
            if m.qkNorm {
                out.append((attnQNorm(i).weight, Shape([m.headDim])))
                out.append((attnKNorm(i).weight, Shape([m.headDim])))
            }
            linear(attnOut(i), d, q, bias: m.outputBias)
            out.append((ffnNorm(i).weight, Shape([d])))
            linear(ffnGate(i), f, d, bias: m.mlpBias)
            linear(ffnUp(i), f, d, bias: m.mlpBias)
            linear(ffnDown(i), d, f, bias: m.mlpBias)
        }
        out.append((outputNorm.weight, Shape([d])))
        if h.numLabels > 0 { out.append((classifierOut.weight, [h.numLabels, d])) }
        return out
    }
}

extension Graph {
    /// The decoder's hyperparameter checks (validate()): head counts that divide, an even head size.
    func validateDecoder(_ m: DecoderParameters) throws {
        let h = hyperparameters
        guard architecture == .decoder else {
            throw GraphError.invalidHyperparameter(name: "decoder", reason: "only a decoder has decoder options, not \(architecture.rawValue)")
        }
        guard h.numAttentionHeads > 0, m.numKeyValueHeads > 0, h.numAttentionHeads % m.numKeyValueHeads == 0 else {
            throw GraphError.invalidHyperparameter(name: "num_key_value_heads", reason: "\(m.numKeyValueHeads) does not divide \(h.numAttentionHeads) attention heads")
        }
        guard m.headDim > 0, m.headDim % 2 == 0, m.headDim <= 1024 else {
            throw GraphError.invalidHyperparameter(name: "head_dim", reason: "\(m.headDim) is not an even size within 2...1024 (rotary embeddings rotate pairs)")
        }
        guard m.ropeTheta.isFinite, m.ropeTheta > 0 else {
            throw GraphError.invalidHyperparameter(name: "rope_theta", reason: "\(m.ropeTheta) is not a positive number")
        }
        guard h.maxPositionEmbeddings >= 1 else {
            throw GraphError.invalidHyperparameter(name: "max_position_embeddings", reason: "\(h.maxPositionEmbeddings) admits no token")
        }
    }
}
