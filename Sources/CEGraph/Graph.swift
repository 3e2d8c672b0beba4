import CECore

/// Encoder families cetool runs. Each names its embedding rules and its classification head.
/// All share the post-norm encoder block; they differ in embeddings and head (formats/graph.md).
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

    /// Whether the model reads the tokenizer's token type ids (BERT segments). RoBERTa has a one-row type
    /// table it always indexes with 0; DistilBERT has none.
    public var usesTokenTypeIDs: Bool { self == .bert || self == .electra }
    /// Whether a type_embd table exists (added at row type id, or row 0 when token types are not used).
    public var hasTypeEmbedding: Bool { self != .distilbert }
    /// The activation between cls.pool and cls.out.
    public var poolActivation: PoolActivation {
        switch self {
        case .bert, .roberta: return .tanh
        case .distilbert: return .relu
        case .electra: return .gelu
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
}

/// Hidden activation of the feed-forward block. config.json `hidden_act`.
public enum HiddenActivation: String, Sendable, Codable {
    /// 0.5·x·(1 + erf(x/√2)). config.json "gelu".
    case gelu
    /// config.json "relu".
    case relu
    /// tanh approximation of GELU. config.json "gelu_new", "gelu_pytorch_tanh".
    case geluTanh
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

    public init(vocabSize: Int, hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                intermediateSize: Int, hiddenAct: HiddenActivation, maxPositionEmbeddings: Int,
                typeVocabSize: Int, layerNormEps: Float, padTokenID: Int, numLabels: Int, embeddingSize: Int? = nil) {
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
    }

    public var headDim: Int { hiddenSize / numAttentionHeads }
}

/// Canonical tensor names (formats/graph.md). The only list of them.
public enum TensorName {
    public static let tokenEmbedding = "token_embd"          // [vocab, hidden]
    public static let positionEmbedding = "pos_embd"         // [maxPositions, hidden]
    public static let typeEmbedding = "type_embd"            // [typeVocab, hidden]
    public static let embeddingNorm = "embd_norm"            // [hidden] .weight / .bias
    public static let embeddingProjection = "embd_proj"      // [hidden, embeddingSize], ELECTRA only
    public static func attnQ(_ i: Int) -> String { "blk.\(i).attn_q" }        // [hidden, hidden]
    public static func attnK(_ i: Int) -> String { "blk.\(i).attn_k" }        // [hidden, hidden]
    public static func attnV(_ i: Int) -> String { "blk.\(i).attn_v" }        // [hidden, hidden]
    public static func attnOut(_ i: Int) -> String { "blk.\(i).attn_out" }    // [hidden, hidden]
    public static func attnNorm(_ i: Int) -> String { "blk.\(i).attn_norm" }  // [hidden]
    public static func ffnUp(_ i: Int) -> String { "blk.\(i).ffn_up" }        // [intermediate, hidden]
    public static func ffnDown(_ i: Int) -> String { "blk.\(i).ffn_down" }    // [hidden, intermediate]
    public static func ffnNorm(_ i: Int) -> String { "blk.\(i).ffn_norm" }    // [hidden]
    public static let classifierPool = "cls.pool"            // [hidden, hidden], then the architecture's PoolActivation
    public static let classifierOut = "cls.out"              // [numLabels, hidden]

    /// The per-output-channel scale tensor of an int8 weight: F32 [out].
    public static func scale(of weight: String) -> String { weight + "_scale" }
    /// The per-input-channel smoothing factors of an int8 linear weight: F32 [in]; the input is
    /// multiplied by them before it is quantized (the weight's columns were divided by them).
    public static func smooth(of weight: String) -> String { weight + "_smooth" }

    /// Every canonical weight name an architecture needs, with its shape. Linear weights are
    /// (out, in) as torch.nn.Linear stores them; `.weight` / `.bias` suffixes are part of the name.
    public static func required(_ a: Architecture, _ h: Hyperparameters) -> [(String, Shape)] {
        let d = h.hiddenSize, f = h.intermediateSize, e = h.embeddingSize
        var out: [(String, Shape)] = [
            (tokenEmbedding + ".weight", [h.vocabSize, e]),
            (positionEmbedding + ".weight", [h.maxPositionEmbeddings, e]),
        ]
        if a.hasTypeEmbedding { out.append((typeEmbedding + ".weight", [h.typeVocabSize, e])) }
        out += [(embeddingNorm + ".weight", [e]), (embeddingNorm + ".bias", [e])]
        if e != d { out += [(embeddingProjection + ".weight", [d, e]), (embeddingProjection + ".bias", [d])] }
        for i in 0..<h.numHiddenLayers {
            for n in [attnQ(i), attnK(i), attnV(i), attnOut(i)] {
                out.append((n + ".weight", [d, d])); out.append((n + ".bias", [d]))
            }
            out.append((attnNorm(i) + ".weight", [d])); out.append((attnNorm(i) + ".bias", [d]))
            out.append((ffnUp(i) + ".weight", [f, d])); out.append((ffnUp(i) + ".bias", [f]))
            out.append((ffnDown(i) + ".weight", [d, f])); out.append((ffnDown(i) + ".bias", [d]))
            out.append((ffnNorm(i) + ".weight", [d])); out.append((ffnNorm(i) + ".bias", [d]))
        }
        // Every architecture's head starts with a [hidden, hidden] linear on the first token.
        out.append((classifierPool + ".weight", [d, d])); out.append((classifierPool + ".bias", [d]))
        out.append((classifierOut + ".weight", [h.numLabels, d])); out.append((classifierOut + ".bias", [h.numLabels]))
        return out
    }
}

/// The closed op set of the canonical graph. Every architecture is a sequence of these.
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
}

/// A cross-encoder in canonical form: architecture, hyperparameters, ops and named fp32/fp16/bf16 weights.
public struct Graph: Sendable {
    public var architecture: Architecture
    public var hyperparameters: Hyperparameters
    public var weights: [String: Tensor]
    /// id2label names, index = label id.
    public var labels: [String]

    public init(architecture: Architecture, hyperparameters: Hyperparameters, weights: [String: Tensor], labels: [String]) {
        self.architecture = architecture
        self.hyperparameters = hyperparameters
        self.weights = weights
        self.labels = labels
    }

    public var ops: [Op] {
        var ops: [Op] = [.embed]
        if hyperparameters.embeddingSize != hyperparameters.hiddenSize { ops.append(.projectEmbeddings) }
        for i in 0..<hyperparameters.numHiddenLayers { ops.append(.encoderBlock(i)) }
        ops.append(.poolFirstToken(architecture.poolActivation))
        ops.append(.classify)
        return ops
    }

    /// The position id of the first token: 0, or padTokenID + 1 for RoBERTa.
    public var firstPosition: Int { architecture == .roberta ? hyperparameters.padTokenID + 1 : 0 }

    /// Longest sequence the position table admits: maxPositionEmbeddings − firstPosition.
    public var maxSequenceLength: Int { hyperparameters.maxPositionEmbeddings - firstPosition }

    /// Position ids of one unpadded sequence. BERT, DistilBERT, ELECTRA: 0, 1, 2, …. RoBERTa
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
        let required = TensorName.required(architecture, hyperparameters)
        var names = Set(weights.keys)
        for (name, shape) in required {
            guard let t = weights[name] else { throw GraphError.missingWeight(name: name) }
            guard t.shape == shape else { throw GraphError.shapeMismatch(name: name, expected: shape, actual: t.shape) }
            names.remove(name)
            if t.dtype == .i8, shape.rank == 2, !name.hasPrefix(TensorName.positionEmbedding), !name.hasPrefix(TensorName.typeEmbedding) {
                // int8 linear weight or token embedding table: needs its F32 [rows] scales.
                let s = TensorName.scale(of: name)
                guard let st = weights[s] else { throw GraphError.missingWeight(name: s) }
                guard st.dtype == .f32, st.shape == [shape.dims[0]] else {
                    throw GraphError.shapeMismatch(name: s, expected: [shape.dims[0]], actual: st.shape)
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
        // Q, K and V run as one fused linear over one input: their smoothing must be one vector.
        for i in 0..<hyperparameters.numHiddenLayers {
            let vs = [TensorName.attnQ(i), TensorName.attnK(i), TensorName.attnV(i)].map { weights[TensorName.smooth(of: $0 + ".weight")] }
            let present = vs.compactMap { $0 }
            if !present.isEmpty {
                guard present.count == 3, Set(present.map { Array($0.storage.bytes) }).count == 1 else {
                    throw GraphError.invalidHyperparameter(name: TensorName.smooth(of: TensorName.attnQ(i) + ".weight"),
                                                           reason: "attn_q, attn_k and attn_v must carry the same smoothing vector")
                }
            }
        }
        let h = hyperparameters
        guard h.numAttentionHeads > 0, h.hiddenSize % h.numAttentionHeads == 0 else {
            throw GraphError.invalidHyperparameter(name: "num_attention_heads", reason: "hidden_size \(h.hiddenSize) is not divisible by \(h.numAttentionHeads)")
        }
        guard h.embeddingSize == h.hiddenSize || architecture == .electra else {
            throw GraphError.invalidHyperparameter(name: "embedding_size", reason: "\(h.embeddingSize) differs from hidden_size \(h.hiddenSize); only ELECTRA projects embeddings")
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
