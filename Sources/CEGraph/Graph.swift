import CECore

/// Encoder families cetool runs. Each names its embedding rules and its classification head.
/// BERT, RoBERTa, DistilBERT and ELECTRA share the post-norm encoder block and differ in embeddings and head;
/// ModernBERT has its own pre-norm block and head (formats/graph.md).
public enum Architecture: String, Sendable, Codable, CaseIterable {
    /// BERT: absolute positions from 0, token types, pooler.dense -> tanh -> classifier.
    case bert
    /// RoBERTa and XLM-RoBERTa: positions from padTokenID + 1 counting non-pad tokens
    /// (transformers create_position_ids_from_input_ids), token type 0 only,
    /// classifier.dense -> tanh -> classifier.out_proj.
    case roberta
    /// DistilBERT: positions from 0, no token types, pre_classifier -> ReLU -> classifier.
    case distilbert
    /// ELECTRA: BERT embeddings at embedding_size, projected to hidden_size when the two differ
    /// (embeddings_project); classifier.dense -> GELU (erf) -> classifier.out_proj.
    case electra
    /// ModernBERT (transformers ModernBertForSequenceClassification): token embeddings and a LayerNorm only
    /// (positions enter as rotary embeddings of queries and keys), pre-norm blocks with a fused QKV linear, global
    /// or sliding-window attention per layer, a gated feed-forward block, a final LayerNorm; the head pools
    /// ([CLS] or the mean over the tokens), then dense -> classifier_activation -> LayerNorm -> classifier.
    /// Its options are `Hyperparameters.modernBERT`.
    case modernbert
    /// DeBERTa-v2 and v3 (transformers DebertaV2ForSequenceClassification): embeddings summed (positions and token
    /// types only when the config has them), projected to hidden_size without bias when embedding_size differs, then a
    /// LayerNorm; post-norm blocks whose attention adds disentangled relative-position terms (c2p, p2c) over rel_embd;
    /// the ContextPooler (first token, cls.pool, pooler_hidden_act) and the classifier. Its options are
    /// `Hyperparameters.debertaV2`.
    case debertaV2 = "deberta-v2"
    /// Decoder-only rerankers (Qwen3 / Qwen2 / Llama `…ForSequenceClassification`): token embeddings only, pre-norm
    /// blocks with RMSNorm, rotary q/k, grouped-query causal attention and a SwiGLU feed-forward block, a final
    /// RMSNorm and `score` at the last token that is not the pad token. Its options are `Hyperparameters.decoder`.
    case decoder

    /// Whether the model reads the tokenizer's token type ids (BERT segments). RoBERTa has a one-row type
    /// table it always indexes with 0; DistilBERT and ModernBERT have none.
    public var usesTokenTypeIDs: Bool { self == .bert || self == .electra }
    /// Whether a type_embd table exists (added at row type id, or row 0 when token types are not used).
    /// DeBERTa-v2's depends on its config (DebertaV2Parameters.tokenTypes).
    public var hasTypeEmbedding: Bool { ![.distilbert, .modernbert, .debertaV2, .decoder].contains(self) }
    /// Whether a pos_embd table exists (ModernBERT and decoders rotate queries and keys instead).
    /// DeBERTa-v2's depends on its config (DebertaV2Parameters.positionBiasedInput).
    public var hasPositionEmbedding: Bool { ![.modernbert, .debertaV2, .decoder].contains(self) }
    /// The activation between cls.pool and cls.out when the architecture fixes it. ModernBERT's is its
    /// config's `classifier_activation` (Graph.poolActivation); `.gelu` here is ModernBertConfig's default.
    public var poolActivation: PoolActivation {
        switch self {
        case .bert, .roberta: return .tanh
        case .distilbert: return .relu
        case .electra, .modernbert, .debertaV2, .decoder: return .gelu
        }
    }
}

/// The activation of the head's first linear (cls.pool).
public enum PoolActivation: String, Sendable, Codable {
    /// BERT pooler, RobertaClassificationHead.
    case tanh
    /// DistilBertForSequenceClassification (nn.ReLU after pre_classifier).
    case relu
    /// ElectraClassificationHead: get_activation("gelu"), the erf form, whatever hidden_act says.
    case gelu
    /// GELU, tanh approximation: ModernBERT classifier_activation "gelu_new" / "gelu_pytorch_tanh".
    case geluTanh
}

/// ModernBERT's attention span per layer. config.json `layer_types` entries.
public enum AttentionSpan: String, Sendable, Codable, CaseIterable {
    /// Every token attends to every token. "full_attention"; rotary θ `rope_parameters.full_attention.rope_theta`.
    case global = "full_attention"
    /// Token i attends to token j only when |i − j| ≤ local_attention / 2 (integer division; transformers'
    /// sliding_window). "sliding_attention"; rotary θ `rope_parameters.sliding_attention.rope_theta`.
    case local = "sliding_attention"
}

/// How ModernBERT's head reduces the final hidden states of a sequence to one vector. config.json `classifier_pooling`.
public enum Pooling: String, Sendable, Codable, CaseIterable {
    /// The first token's state ([CLS]).
    case cls
    /// The mean of the states of the sequence's tokens (the attention mask's ones).
    case mean
}

/// ModernBERT's options beyond the shared hyperparameters, config.json names in camelCase.
public struct ModernBERTParameters: Sendable, Codable, Equatable {
    /// One entry per layer: global or local (sliding-window) attention. `layer_types`, or derived from
    /// `global_attn_every_n_layers` n: layer i is global when i % n == 0.
    public var layerTypes: [AttentionSpan]
    /// `local_attention`: the full window; a local layer's token i sees j with |i − j| ≤ localAttention / 2.
    public var localAttention: Int
    /// Rotary base of global layers (`rope_parameters.full_attention.rope_theta`, hub-era `global_rope_theta`).
    public var globalRopeTheta: Double
    /// Rotary base of local layers (`rope_parameters.sliding_attention.rope_theta`, hub-era `local_rope_theta`).
    public var localRopeTheta: Double
    /// Wqkv and attention Wo carry biases. `attention_bias`.
    public var attentionBias: Bool
    /// mlp.Wi and mlp.Wo carry biases. `mlp_bias`.
    public var mlpBias: Bool
    /// Every LayerNorm (embeddings, blocks, final, head) carries a bias. `norm_bias`.
    public var normBias: Bool
    /// The head's dense layer (cls.pool) carries a bias; the classifier always does. `classifier_bias`.
    public var classifierBias: Bool
    /// `classifier_pooling`.
    public var classifierPooling: Pooling
    /// The activation between cls.pool and cls.pool_norm. `classifier_activation`.
    public var classifierActivation: PoolActivation

    public init(layerTypes: [AttentionSpan], localAttention: Int, globalRopeTheta: Double, localRopeTheta: Double,
                attentionBias: Bool, mlpBias: Bool, normBias: Bool, classifierBias: Bool, classifierPooling: Pooling,
                classifierActivation: PoolActivation) {
        self.layerTypes = layerTypes
        self.localAttention = localAttention
        self.globalRopeTheta = globalRopeTheta
        self.localRopeTheta = localRopeTheta
        self.attentionBias = attentionBias
        self.mlpBias = mlpBias
        self.normBias = normBias
        self.classifierBias = classifierBias
        self.classifierPooling = classifierPooling
        self.classifierActivation = classifierActivation
    }

    /// ModernBertConfig's defaults: every third layer global from layer 0, local_attention 128, θ 160,000 (global)
    /// and 10,000 (local), no biases but the classifier's, [CLS] pooling, GELU.
    public static func transformersDefaults(numHiddenLayers n: Int) -> ModernBERTParameters {
        ModernBERTParameters(layerTypes: (0..<max(0, n)).map { $0 % 3 == 0 ? .global : .local }, localAttention: 128,
                             globalRopeTheta: 160_000, localRopeTheta: 10_000, attentionBias: false, mlpBias: false, normBias: false,
                             classifierBias: false, classifierPooling: .cls, classifierActivation: .gelu)
    }

    /// transformers' `sliding_window`: the largest |i − j| a local layer admits.
    public var halfWindow: Int { localAttention / 2 }

    /// Rotary base of a layer of span `s`.
    public func ropeTheta(_ s: AttentionSpan) -> Double { s == .global ? globalRopeTheta : localRopeTheta }
}

/// Hidden activation of the feed-forward block. config.json `hidden_act`.
public enum HiddenActivation: String, Sendable, Codable {
    /// 0.5·x·(1 + erf(x/√2)). config.json "gelu".
    case gelu
    /// config.json "relu".
    case relu
    /// tanh approximation of GELU. config.json "gelu_new", "gelu_pytorch_tanh".
    case geluTanh
    /// x·sigmoid(x). config.json "silu", "swish" (decoders' gated feed-forward).
    case silu
}

/// How raw logits become scores. sentence-transformers `activation_fn`.
public enum ScoreActivation: String, Sendable, Codable, CaseIterable {
    /// torch.nn.modules.linear.Identity
    case identity
    /// torch.nn.modules.activation.Sigmoid
    case sigmoid
    /// torch.nn.modules.activation.Tanh
    case tanh
    /// softmax over labels (sentence-transformers `apply_softmax`, or torch.nn.modules.activation.Softmax)
    case softmax
}

/// Hyperparameters, with config.json's names in camelCase.
public struct Hyperparameters: Sendable, Codable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: HiddenActivation
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float
    public var padTokenID: Int
    public var numLabels: Int
    /// Width of the embedding tables (ELECTRA `embedding_size`); equals hiddenSize everywhere else.
    public var embeddingSize: Int
    /// ModernBERT's options; nil for every other architecture.
    public var modernBERT: ModernBERTParameters?
    /// DeBERTa-v2's options; nil for every other architecture.
    public var debertaV2: DebertaV2Parameters?
    /// A decoder's options; nil for every other architecture.
    public var decoder: DecoderParameters?

    public init(vocabSize: Int, hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                intermediateSize: Int, hiddenAct: HiddenActivation, maxPositionEmbeddings: Int,
                typeVocabSize: Int, layerNormEps: Float, padTokenID: Int, numLabels: Int, embeddingSize: Int? = nil,
                modernBERT: ModernBERTParameters? = nil, debertaV2: DebertaV2Parameters? = nil,
                decoder: DecoderParameters? = nil) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.hiddenAct = hiddenAct
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.padTokenID = padTokenID
        self.numLabels = numLabels
        self.embeddingSize = embeddingSize ?? hiddenSize
        self.modernBERT = modernBERT
        self.debertaV2 = debertaV2
        self.decoder = decoder
    }

    /// hidden / heads; a decoder's `head_dim`.
    public var headDim: Int { decoder?.headDim ?? hiddenSize / numAttentionHeads }
}

/// A canonical layer: its gguf-like base name (`blk.3.attn_q`) and the tensors it owns, `.weight` and `.bias`
/// (an int8 weight's companions are `TensorName.scale(of:)` and `TensorName.smooth(of:)` of the weight).
public struct Layer: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let name: String

    public init(_ name: String) { self.name = name }
    public init(stringLiteral name: String) { self.name = name }

    /// `<name>.weight`: a linear's (out, in) matrix, an embedding table, a LayerNorm's gamma.
    public var weight: String { name + ".weight" }
    /// `<name>.bias`: a linear's or a LayerNorm's shift.
    public var bias: String { name + ".bias" }
    public var description: String { name }
}

/// Canonical tensor names (formats/graph.md). The only list of them.
public enum TensorName {
    public static let tokenEmbedding: Layer = "token_embd"          // [vocab, hidden]
    public static let positionEmbedding: Layer = "pos_embd"         // [maxPositions, hidden]
    public static let typeEmbedding: Layer = "type_embd"            // [typeVocab, hidden]
    public static let embeddingNorm: Layer = "embd_norm"            // [hidden] .weight / .bias
    public static let embeddingProjection: Layer = "embd_proj"      // [hidden, embeddingSize], ELECTRA only
    public static func attnQ(_ i: Int) -> Layer { Layer("blk.\(i).attn_q") }        // [hidden, hidden]
    public static func attnK(_ i: Int) -> Layer { Layer("blk.\(i).attn_k") }        // [hidden, hidden]
    public static func attnV(_ i: Int) -> Layer { Layer("blk.\(i).attn_v") }        // [hidden, hidden]
    /// ModernBERT's fused Wqkv: rows [0, hidden) Q, [hidden, 2·hidden) K, [2·hidden, 3·hidden) V, heads in order within each.
    public static func attnQKV(_ i: Int) -> Layer { Layer("blk.\(i).attn_qkv") }   // [3·hidden, hidden]
    public static func attnOut(_ i: Int) -> Layer { Layer("blk.\(i).attn_out") }    // [hidden, hidden]
    public static func attnNorm(_ i: Int) -> Layer { Layer("blk.\(i).attn_norm") }  // [hidden]
    /// [intermediate, hidden]; ModernBERT's mlp.Wi is [2·intermediate, hidden]: rows [0, intermediate) go through
    /// the activation, rows [intermediate, 2·intermediate) are the gate they are multiplied by.
    public static func ffnUp(_ i: Int) -> Layer { Layer("blk.\(i).ffn_up") }
    public static func ffnDown(_ i: Int) -> Layer { Layer("blk.\(i).ffn_down") }    // [hidden, intermediate]
    public static func ffnNorm(_ i: Int) -> Layer { Layer("blk.\(i).ffn_norm") }    // [hidden]
    public static let outputNorm: Layer = "output_norm"             // [hidden], ModernBERT's final_norm
    public static let classifierPool: Layer = "cls.pool"            // [hidden, hidden], then the architecture's PoolActivation
    public static let classifierPoolNorm: Layer = "cls.pool_norm"   // [hidden], ModernBERT's head.norm after the activation
    public static let classifierOut: Layer = "cls.out"              // [numLabels, hidden]

    /// The encoder linears that read block i's attention input (one fused linear, so one smoothing vector and one
    /// set of calibration statistics, stored under the first name).
    public static func attentionInputs(_ a: Architecture, _ i: Int) -> [Layer] {
        a == .modernbert ? [attnQKV(i)] : [attnQ(i), attnK(i), attnV(i)]
    }

    /// Weights that read the same input as another (block i's attn_k and attn_v read attn_q's) -> that first
    /// weight, whose activation statistics stand for the group.
    public static func sharedInputs(_ a: Architecture, _ h: Hyperparameters) -> [String: String] {
        var shared: [String: String] = [:]
        for i in 0..<h.numHiddenLayers {
            let group = attentionInputs(a, i)
            for l in group.dropFirst() { shared[l.weight] = group[0].weight }
            let ffn = ffnInputs(a, i)
            for l in ffn.dropFirst() { shared[l.weight] = ffn[0].weight }
        }
        return shared
    }

    /// The per-output-channel scale tensor of an int8 weight: F32 [out].
    public static func scale(of weight: String) -> String { weight + "_scale" }
    /// The per-input-channel smoothing factors of an int8 linear weight: F32 [in]; the input is
    /// multiplied by them before it is quantized (the weight's columns were divided by them).
    public static func smooth(of weight: String) -> String { weight + "_smooth" }

    /// Every canonical weight name an architecture needs, with its shape. Linear weights are
    /// (out, in) as torch.nn.Linear stores them; `.weight` / `.bias` suffixes are part of the name.
    public static func required(_ a: Architecture, _ h: Hyperparameters) -> [(String, Shape)] {
        if a == .modernbert { return requiredModernBERT(h, h.modernBERT ?? .transformersDefaults(numHiddenLayers: h.numHiddenLayers)) }
        if a == .debertaV2, let p = h.debertaV2 { return requiredDebertaV2(h, p) }
        if a == .decoder, let m = h.decoder { return requiredDecoder(h, m) }
        let d = h.hiddenSize, f = h.intermediateSize, e = h.embeddingSize
        var out: [(String, Shape)] = [
            (tokenEmbedding.weight, [h.vocabSize, e]),
            (positionEmbedding.weight, [h.maxPositionEmbeddings, e]),
        ]
        if a.hasTypeEmbedding { out.append((typeEmbedding.weight, [h.typeVocabSize, e])) }
        out += [(embeddingNorm.weight, Shape([e])), (embeddingNorm.bias, Shape([e]))]
        if e != d { out += [(embeddingProjection.weight, Shape([d, e])), (embeddingProjection.bias, Shape([d]))] }
        for i in 0..<h.numHiddenLayers {
            for n in [attnQ(i), attnK(i), attnV(i), attnOut(i)] {
                out.append((n.weight, [d, d])); out.append((n.bias, [d]))
            }
            out.append((attnNorm(i).weight, [d])); out.append((attnNorm(i).bias, [d]))
            out.append((ffnUp(i).weight, [f, d])); out.append((ffnUp(i).bias, [f]))
            out.append((ffnDown(i).weight, [d, f])); out.append((ffnDown(i).bias, [d]))
            out.append((ffnNorm(i).weight, [d])); out.append((ffnNorm(i).bias, [d]))
        }
        // A bare encoder (numLabels 0) ends here. Every architecture's head starts with a [hidden, hidden] linear on the first token.
        if h.numLabels == 0 { return out }
        out.append((classifierPool.weight, [d, d])); out.append((classifierPool.bias, [d]))
        out.append((classifierOut.weight, [h.numLabels, d])); out.append((classifierOut.bias, [h.numLabels]))
        return out
    }

    /// ModernBERT's tensors; the optional biases follow its flags (a LayerNorm without bias is the transformers
    /// `nn.LayerNorm(bias=False)`, an identity shift). Layer 0 has no attn_norm (transformers: nn.Identity).
    static func requiredModernBERT(_ h: Hyperparameters, _ m: ModernBERTParameters) -> [(String, Shape)] {
        let d = h.hiddenSize, f = h.intermediateSize
        var out: [(String, Shape)] = [(tokenEmbedding.weight, [h.vocabSize, d])]
        func norm(_ n: Layer) {
            out.append((n.weight, [d]))
            if m.normBias { out.append((n.bias, [d])) }
        }
        func linear(_ n: Layer, _ rows: Int, _ cols: Int, bias: Bool) {
            out.append((n.weight, [rows, cols]))
            if bias { out.append((n.bias, [rows])) }
        }
        norm(embeddingNorm)
        for i in 0..<h.numHiddenLayers {
            if i > 0 { norm(attnNorm(i)) }
            linear(attnQKV(i), 3 * d, d, bias: m.attentionBias)
            linear(attnOut(i), d, d, bias: m.attentionBias)
            norm(ffnNorm(i))
            linear(ffnUp(i), 2 * f, d, bias: m.mlpBias)
            linear(ffnDown(i), d, f, bias: m.mlpBias)
        }
        norm(outputNorm)
        if h.numLabels == 0 { return out }
        linear(classifierPool, d, d, bias: m.classifierBias)
        norm(classifierPoolNorm)
        linear(classifierOut, h.numLabels, d, bias: true)
        return out
    }
}

/// The closed op set of the canonical graph. Every architecture is a sequence of these (`Graph.ops`), which the
/// runtime executes in order, one forward function per op (formats/graph.md, the op table).
public enum Op: Sendable, Equatable {
    /// x[b,s,:] = token_embd[ids] + pos_embd[positions] + type_embd[typeIDs], then LayerNorm(embd_norm).
    /// Positions and type rows follow the architecture (Graph.position(of:…), Architecture.usesTokenTypeIDs).
    case embed
    /// x = embd_proj · x + b: [embeddingSize] -> [hidden]. ELECTRA when embedding_size != hidden_size.
    case projectEmbeddings
    /// One encoder block i: post-norm BERT layer (self-attention + residual + LayerNorm,
    /// FFN up -> activation -> down + residual + LayerNorm).
    case encoderBlock(Int)
    /// h = x[b, 0, :]; h = act(cls.pool · h + b). BERT pooler (tanh), RoBERTa/ELECTRA classifier.dense
    /// (tanh / GELU), DistilBERT pre_classifier (ReLU).
    case poolFirstToken(PoolActivation)
    /// logits = cls.out · h + b, [numLabels].
    case classify
    /// ModernBERT: x[b,s,:] = LayerNorm(token_embd[ids]) (embd_norm); no position or type rows.
    case embedTokens
    /// ModernBERT block i, pre-norm: h = LayerNorm(x) (attn_norm; identity in block 0); [q k v] = attn_qkv · h + b;
    /// q, k rotated by position (θ of the span; transformers apply_rotary_pos_emb); attention over all tokens
    /// (global) or those with |i − j| ≤ localAttention / 2 (local); x += attn_out · ctx + b;
    /// [u g] = ffn_up · LayerNorm(x) (ffn_norm) + b; x += ffn_down · (act(u) ⊙ g) + b.
    case preNormBlock(Int, AttentionSpan)
    /// x = LayerNorm(x) (output_norm): ModernBERT's final_norm.
    case outputNorm
    /// ModernBERT head: h = x[b, 0, :] (cls) or the mean of x[b, :, :] over the sequence's tokens (mean);
    /// h = LayerNorm(act(cls.pool · h + b)) (cls.pool_norm).
    case poolHead(Pooling, PoolActivation)
    /// DeBERTa-v2: x[b,s,:] = token_embd[ids] (+ pos_embd[s]) (+ type_embd[typeIDs]); x = embd_proj · x when
    /// embeddingSize != hidden (no bias); LayerNorm(embd_norm) at hidden.
    case embedDebertaV2
    /// DeBERTa-v2 block i, post-norm as encoderBlock, its attention scores
    /// (q_i·k_j + q_i·posK[r(i−j)] (c2p) + k_j·posQ[r(i−j)] (p2c)) / √(D·scaleFactor), posK / posQ the projected rel_embd
    /// rows (DebertaV2Parameters.relativeRow).
    case disentangledBlock(Int)
    /// Decoder: x[b,s,:] = token_embd[ids]; no norm, positions or types.
    case embedLookup
    /// Decoder block i, pre-norm: h = RMSNorm(x; attn_norm); q, k, v = attn_q/k/v · h (+ b); per head RMSNorm of q and k
    /// (attn_q_norm, attn_k_norm; Qwen3); rotary q, k; causal attention, query head j over kv head j / (H / KV);
    /// x += attn_out · ctx (+ b); h = RMSNorm(x; ffn_norm); x += ffn_down · (silu(ffn_gate · h) ⊙ (ffn_up · h)).
    case decoderBlock(Int)
    /// Decoder head: per sequence, the last token whose id is not the pad id (transformers' last_non_pad_token);
    /// logits = cls.out · RMSNorm(x[that token]; output_norm), no bias.
    case scoreLastToken
}

/// A cross-encoder in canonical form: architecture, hyperparameters, ops and named fp32/fp16/bf16 weights.
public struct Graph: Sendable {
    public var architecture: Architecture
    public var hyperparameters: Hyperparameters
    public var weights: [String: Tensor]
    /// id2label names, index = label id.
    public var labels: [String]
    /// Input positions per scale of a grouped int8 linear weight (its `_scale` is F32 [out, ceil(in / group)]);
    /// 0 when the graph has none (every int8 weight then has one scale per output row).
    public var weightGroupSize: Int

    public init(architecture: Architecture, hyperparameters: Hyperparameters, weights: [String: Tensor], labels: [String],
                weightGroupSize: Int = 0) {
        self.architecture = architecture
        self.hyperparameters = hyperparameters
        self.weights = weights
        self.labels = labels
        self.weightGroupSize = weightGroupSize
    }

    /// Whether `group` can be a weight group size: positive and even (a group is whole input pairs of the packed
    /// int8 kernel), at most 2¹⁶.
    public static func isValidWeightGroupSize(_ group: Int) -> Bool { group > 0 && group % 2 == 0 && group <= 65_536 }

    /// A bare encoder (transformers' BertModel, RobertaModel, …: numLabels 0) has no head: its ops end with the
    /// last hidden states (B, T, C), the Transformer module's token embeddings of a SentenceTransformer.
    public var isEncoderOnly: Bool { hyperparameters.numLabels == 0 }

    public var ops: [Op] {
        if architecture == .debertaV2, let p = hyperparameters.debertaV2 { return debertaV2Ops(p) }
        if architecture == .modernbert, let m = hyperparameters.modernBERT {
            return [.embedTokens] + m.layerTypes.enumerated().map { .preNormBlock($0.offset, $0.element) }
                + (isEncoderOnly ? [.outputNorm] : [.outputNorm, .poolHead(m.classifierPooling, m.classifierActivation), .classify])
        }
        if architecture == .decoder {
            return [.embedLookup] + (0..<hyperparameters.numHiddenLayers).map { .decoderBlock($0) } + (isEncoderOnly ? [] : [.scoreLastToken])
        }
        var ops: [Op] = [.embed]
        if hyperparameters.embeddingSize != hyperparameters.hiddenSize { ops.append(.projectEmbeddings) }
        for i in 0..<hyperparameters.numHiddenLayers { ops.append(.encoderBlock(i)) }
        if isEncoderOnly { return ops }
        ops.append(.poolFirstToken(architecture.poolActivation))
        ops.append(.classify)
        return ops
    }

    /// The activation between cls.pool and cls.out (ModernBERT: before cls.pool_norm).
    public var poolActivation: PoolActivation {
        hyperparameters.modernBERT?.classifierActivation ?? hyperparameters.debertaV2?.poolerActivation ?? architecture.poolActivation
    }

    /// The position id of the first token: 0, or padTokenID + 1 for RoBERTa.
    public var firstPosition: Int { architecture == .roberta ? hyperparameters.padTokenID + 1 : 0 }

    /// Longest sequence the position table admits: maxPositionEmbeddings − firstPosition. ModernBERT has no table;
    /// sentence-transformers caps its length at max_position_embeddings all the same, and so does cetool.
    public var maxSequenceLength: Int { hyperparameters.maxPositionEmbeddings - firstPosition }

    /// Position ids of one unpadded sequence. BERT, DistilBERT, ELECTRA, ModernBERT: 0, 1, 2, …. RoBERTa
    /// (transformers create_position_ids_from_input_ids): a pad token gets padTokenID, every other token
    /// padTokenID + (number of non-pad tokens up to and including it); right padding in a batch leaves
    /// the real tokens' positions unchanged, so an unpadded sequence gets the same ids.
    public func positions(of ids: [Int32]) -> [Int] {
        guard architecture == .roberta else { return Array(0..<ids.count) }
        let pad = hyperparameters.padTokenID
        var count = 0
        return ids.map { id in
            if Int(id) == pad { return pad }
            count += 1
            return pad + count
        }
    }

    /// Checks every required weight is present with its shape and no others remain.
    public func validate() throws {
        try validateOptions()
        try validateWeights()
        try validateFusedSmoothing()
        try validateSizes()
    }

    /// The weight grouping and each architecture's own options: present exactly for their architecture, in range.
    func validateOptions() throws {
        guard weightGroupSize == 0 || Graph.isValidWeightGroupSize(weightGroupSize) else {
            throw GraphError.invalidHyperparameter(name: "weight_group_size", reason: "\(weightGroupSize) is not an even number of input positions within 2...65536")
        }
        if (architecture == .modernbert) != (hyperparameters.modernBERT != nil) {
            throw GraphError.invalidHyperparameter(name: "modernBERT", reason: architecture == .modernbert
                ? "ModernBERT needs its options (layer types, rotary bases, bias flags, pooling)"
                : "only ModernBERT has ModernBERT options, not \(architecture.rawValue)")
        }
        if (architecture == .debertaV2) != (hyperparameters.debertaV2 != nil) {
            throw GraphError.invalidHyperparameter(name: "debertaV2", reason: architecture == .debertaV2
                ? "DeBERTa-v2 needs its options (relative attention, buckets, pos_att_type, share_att_key)"
                : "only DeBERTa-v2 has DeBERTa-v2 options, not \(architecture.rawValue)")
        }
        if let p = hyperparameters.debertaV2 { try validateDebertaV2(p) }
        if let m = hyperparameters.modernBERT {
            guard m.layerTypes.count == hyperparameters.numHiddenLayers else {
                throw GraphError.invalidHyperparameter(name: "layer_types", reason: "\(m.layerTypes.count) entries for \(hyperparameters.numHiddenLayers) layers")
            }
            guard m.localAttention >= 0 else {
                throw GraphError.invalidHyperparameter(name: "local_attention", reason: "\(m.localAttention) is negative")
            }
            for (k, t) in [("global_rope_theta", m.globalRopeTheta), ("local_rope_theta", m.localRopeTheta)] where !(t.isFinite && t > 0) {
                throw GraphError.invalidHyperparameter(name: k, reason: "\(t) is not a positive number")
            }
            let h = hyperparameters
            guard h.numAttentionHeads > 0, h.hiddenSize % h.numAttentionHeads == 0, h.headDim % 2 == 0 else {
                throw GraphError.invalidHyperparameter(name: "num_attention_heads", reason: "rotary embeddings need an even head size; hidden_size \(h.hiddenSize) / \(h.numAttentionHeads) heads")
            }
        }
        if (architecture == .decoder) != (hyperparameters.decoder != nil) {
            throw GraphError.invalidHyperparameter(name: "decoder", reason: "a decoder needs its options (kv heads, head size, rotary base, bias flags), and only a decoder has them")
        }
        if let m = hyperparameters.decoder { try validateDecoder(m) }
    }

    /// Every required weight with its shape (int8 ones with their scales and optional smoothing), no other weight.
    func validateWeights() throws {
        let required = TensorName.required(architecture, hyperparameters)
        var names = Set(weights.keys)
        for (name, shape) in required {
            guard let t = weights[name] else { throw GraphError.missingWeight(name: name) }
            guard t.shape == shape else { throw GraphError.shapeMismatch(name: name, expected: shape, actual: t.shape) }
            names.remove(name)
            if t.dtype == .i8, shape.rank == 2, name != TensorName.positionEmbedding.weight, name != TensorName.typeEmbedding.weight {
                // int8 linear weight or token embedding table: needs its F32 [rows] scales, or in a graph with weight
                // groups [rows, groups] (artifacts written before the token embedding had groups keep its [rows]).
                let s = TensorName.scale(of: name)
                guard let st = weights[s] else { throw GraphError.missingWeight(name: s) }
                var expected: Shape = [shape.dims[0]]
                if st.shape.rank == 2, weightGroupSize > 0 {
                    expected = [shape.dims[0], (shape.dims[1] + weightGroupSize - 1) / weightGroupSize]
                }
                guard st.dtype == .f32, st.shape == expected else {
                    throw GraphError.shapeMismatch(name: s, expected: expected, actual: st.shape)
                }
                names.remove(s)
                let sm = TensorName.smooth(of: name)
                if let smt = weights[sm] {
                    guard smt.dtype == .f32, smt.shape == [shape.dims[1]] else {
                        throw GraphError.shapeMismatch(name: sm, expected: [shape.dims[1]], actual: smt.shape)
                    }
                    names.remove(sm)
                }
                continue
            }
            guard t.dtype.isFloatingPoint else { throw GraphError.unsupportedDType(name: name, dtype: t.dtype) }
        }
        if let extra = names.sorted().first { throw GraphError.unexpectedWeight(name: extra) }
    }

    func validateFusedSmoothing() throws {
        // Q, K and V run as one fused linear over one input: their smoothing must be one vector.
        for i in 0..<hyperparameters.numHiddenLayers where architecture != .modernbert {
            let vs = [TensorName.attnQ(i), TensorName.attnK(i), TensorName.attnV(i)].map { weights[TensorName.smooth(of: $0.weight)] }
            let present = vs.compactMap { $0 }
            if !present.isEmpty {
                guard present.count == 3, Set(present.map { Array($0.storage.bytes) }).count == 1 else {
                    throw GraphError.invalidHyperparameter(name: TensorName.smooth(of: TensorName.attnQ(i).weight),
                                                           reason: "attn_q, attn_k and attn_v must carry the same smoothing vector")
                }
            }
            // A decoder's gate and up run as one fused linear too.
            let ffn = TensorName.ffnInputs(architecture, i).map { weights[TensorName.smooth(of: $0.weight)] }
            let presentFFN = ffn.compactMap { $0 }
            if ffn.count > 1, !presentFFN.isEmpty, presentFFN.count != ffn.count || Set(presentFFN.map { Array($0.storage.bytes) }).count != 1 {
                throw GraphError.invalidHyperparameter(name: TensorName.smooth(of: TensorName.ffnGate(i).weight),
                                                       reason: "ffn_gate and ffn_up must carry the same smoothing vector")
            }
        }
    }

    /// Head count, position count and embedding width the encoders' passes rely on (a decoder checks its own).
    func validateSizes() throws {
        let h = hyperparameters
        if architecture == .decoder { return }
        guard h.numAttentionHeads > 0, h.hiddenSize % h.numAttentionHeads == 0 else {
            throw GraphError.invalidHyperparameter(name: "num_attention_heads", reason: "hidden_size \(h.hiddenSize) is not divisible by \(h.numAttentionHeads)")
        }
        guard architecture.hasPositionEmbedding || h.maxPositionEmbeddings >= 1 else {
            throw GraphError.invalidHyperparameter(name: "max_position_embeddings", reason: "\(h.maxPositionEmbeddings) admits no token")
        }
        guard h.embeddingSize == h.hiddenSize || architecture == .electra || architecture == .debertaV2 else {
            throw GraphError.invalidHyperparameter(name: "embedding_size", reason: "\(h.embeddingSize) differs from hidden_size \(h.hiddenSize); only ELECTRA and DeBERTa-v2 project embeddings")
        }
        guard maxSequenceLength >= 1 else {
            throw GraphError.invalidHyperparameter(name: "max_position_embeddings", reason: "\(h.maxPositionEmbeddings) leaves no position after the first, \(firstPosition)")
        }
    }
}

public enum GraphError: Error, Equatable, CustomStringConvertible {
    case missingWeight(name: String)
    case unexpectedWeight(name: String)
    case shapeMismatch(name: String, expected: Shape, actual: Shape)
    case unsupportedDType(name: String, dtype: DType)
    case invalidHyperparameter(name: String, reason: String)

    public var description: String {
        switch self {
        case .missingWeight(let n): return "graph weight \(n) is missing"
        case .unexpectedWeight(let n): return "graph weight \(n) is not used by the architecture"
        case .shapeMismatch(let n, let e, let a): return "graph weight \(n) has shape \(a), expected \(e)"
        case .unsupportedDType(let n, let d): return "graph weight \(n) has dtype \(d.rawValue); a floating-point type is required"
        case .invalidHyperparameter(let n, let r): return "hyperparameter \(n): \(r)"
        }
    }
}
