import CECore
import CEGraph

/// What config.json says, read into hyperparameters with limits on every size.
public struct ModelConfig: Sendable {
    public var architectureName: String
    public var architecture: Architecture
    public var hyperparameters: Hyperparameters
    public var labels: [String]
    public var raw: JSONValue

    /// Architectures (config.json `architectures[0]`) cetool imports.
    public static let supported: [String: Architecture] = [
        "BertForSequenceClassification": .bert,
        "RobertaForSequenceClassification": .roberta,
        "XLMRobertaForSequenceClassification": .roberta,
        // CamembertForSequenceClassification is RobertaForSequenceClassification under another name (trunk `roberta.`).
        "CamembertForSequenceClassification": .roberta,
        "DistilBertForSequenceClassification": .distilbert,
        "ElectraForSequenceClassification": .electra,
        "ModernBertForSequenceClassification": .modernbert,
    ]

    /// Bare encoders (no classification head; a SentenceTransformer's Transformer module): imported with
    /// numLabels 0, their graph ending with the last hidden states (Graph.isEncoderOnly).
    public static let bareEncoders: [String: Architecture] = [
        "BertModel": .bert, "RobertaModel": .roberta, "XLMRobertaModel": .roberta, "CamembertModel": .roberta,
        "DistilBertModel": .distilbert, "ElectraModel": .electra, "ModernBertModel": .modernbert,
    ]

    /// config.json key of each hyperparameter for an architecture: DistilBertConfig keeps its own names
    /// (`dim`, `n_layers`, …; transformers' attribute_map), ModernBertConfig a few (`hidden_activation`,
    /// `norm_eps`), the others BertConfig's.
    static func key(_ bertName: String, _ a: Architecture) -> String {
        if a == .modernbert {
            switch bertName {
            case "hidden_act": return "hidden_activation"
            case "layer_norm_eps": return "norm_eps"
            default: return bertName
            }
        }
        guard a == .distilbert else { return bertName }
        switch bertName {
        case "hidden_size": return "dim"
        case "num_hidden_layers": return "n_layers"
        case "num_attention_heads": return "n_heads"
        case "intermediate_size": return "hidden_dim"
        case "hidden_act": return "activation"
        default: return bertName
        }
    }

    /// Upper bounds on sizes, far above any published cross-encoder, so hostile configs cannot make us
    /// allocate without limit.
    static let limits: [String: Int] = [
        "vocab_size": 1 << 22, "hidden_size": 16384, "num_hidden_layers": 256, "num_attention_heads": 1024,
        "intermediate_size": 65536, "max_position_embeddings": 1 << 16, "type_vocab_size": 1024,
        "num_labels": 4096, "embedding_size": 16384,
    ]

    public init(json: JSONValue) throws {
        raw = json
        guard case .object = json else { throw ImportError.invalidConfig(key: "(root)", reason: "not a JSON object") }
        let archs = json["architectures"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard let name = archs.first else {
            let mt = json["model_type"]?.stringValue ?? "unknown"
            throw ImportError.unsupportedArchitecture(name: "(no architectures; model_type \(mt))", supported: Self.supported.keys.sorted())
        }
        guard let arch = Self.supported[name] ?? Self.bareEncoders[name] else {
            throw ImportError.unsupportedArchitecture(name: name, supported: Self.supported.keys.sorted())
        }
        let bare = Self.bareEncoders[name] != nil
        architectureName = name
        architecture = arch

        func int(_ name: String, default d: Int? = nil) throws -> Int {
            let key = Self.key(name, arch)
            guard let v = json[key] else {
                if let d { return d }
                throw ImportError.invalidConfig(key: key, reason: "missing")
            }
            guard let i = v.intValue else { throw ImportError.invalidConfig(key: key, reason: "not an integer") }
            let cap = Self.limits[name] ?? Int.max
            guard i >= 1, i <= cap else { throw ImportError.invalidConfig(key: key, reason: "\(i) is outside 1...\(cap)") }
            return i
        }

        // labels: id2label decides num_labels when present, as transformers' PretrainedConfig does.
        var labels: [String] = []
        if let id2label = json["id2label"]?.objectValue, !id2label.isEmpty {
            guard id2label.count <= Self.limits["num_labels"]! else { throw ImportError.invalidConfig(key: "id2label", reason: "too many labels") }
            var byID: [Int: String] = [:]
            for (k, v) in id2label {
                guard let id = Int(k), id >= 0, id < id2label.count, let s = v.stringValue else {
                    throw ImportError.invalidConfig(key: "id2label", reason: "entry \"\(k)\" is not id -> name for ids 0..<\(id2label.count)")
                }
                byID[id] = s
            }
            labels = (0..<id2label.count).map { byID[$0] ?? "LABEL_\($0)" }
        }
        let numLabels: Int
        if bare {
            numLabels = 0 // no head: id2label / num_labels describe nothing the model computes
            labels = []
        } else if json["num_labels"] != nil {
            numLabels = try int("num_labels")
            if labels.count != numLabels { labels = (0..<numLabels).map { "LABEL_\($0)" } }
        } else if !labels.isEmpty {
            numLabels = labels.count
        } else {
            numLabels = 2 // transformers' PretrainedConfig default
            labels = ["LABEL_0", "LABEL_1"]
        }

        let actKey = Self.key("hidden_act", arch)
        let act: HiddenActivation
        if arch == .modernbert {
            act = try ModernBERTConfig.hiddenActivation(json)
        } else {
            let actName = json[actKey]?.stringValue ?? "gelu"
            switch actName {
            case "gelu": act = .gelu
            case "relu": act = .relu
            case "gelu_new", "gelu_pytorch_tanh": act = .geluTanh
            default: throw ImportError.invalidConfig(key: actKey, reason: "\"\(actName)\" is not supported (gelu, relu, gelu_new, gelu_pytorch_tanh)")
            }
        }
        if let pe = json["position_embedding_type"]?.stringValue, pe != "absolute" {
            throw ImportError.invalidConfig(key: "position_embedding_type", reason: "\"\(pe)\" is not supported (absolute)")
        }
        // DistilBERT's LayerNorms are built with eps=1e-12 whatever the config says; ModernBERT's default is 1e-5.
        let epsKey = Self.key("layer_norm_eps", arch)
        let eps = arch == .distilbert ? 1e-12 : json[epsKey]?.doubleValue ?? (arch == .modernbert ? 1e-5 : 1e-12)
        guard eps > 0, eps < 1 else { throw ImportError.invalidConfig(key: epsKey, reason: "\(eps) is outside (0, 1)") }
        // ModernBERT's pad_token_id (default 50283) only marks the embedding's padding row, which inference never
        // treats differently; null (no padding row) is accepted as 0.
        let pad: Int
        if arch == .modernbert {
            pad = json["pad_token_id"].map { $0.isNull ? 0 : $0.intValue ?? -1 } ?? 50283
        } else {
            pad = json["pad_token_id"]?.intValue ?? (arch == .roberta ? 1 : 0)
        }
        let hidden = try int("hidden_size")
        // ELECTRA: embedding_size (ElectraConfig default 128); the others embed at hidden_size.
        let embeddingSize = arch == .electra ? try int("embedding_size", default: 128) : hidden
        // DistilBERT and ModernBERT have no token type table (a placeholder of 1 keeps the hyperparameters total).
        let typeVocab = arch == .distilbert || arch == .modernbert ? 1 : try int("type_vocab_size", default: 2)
        let vocab = try int("vocab_size")
        let layers = try int("num_hidden_layers"), heads = try int("num_attention_heads")
        let intermediate = try int("intermediate_size")
        let maxPositions = try int("max_position_embeddings", default: arch == .modernbert ? 8192 : 512)
        guard hidden % heads == 0 else {
            throw ImportError.invalidConfig(key: Self.key("num_attention_heads", arch), reason: "hidden_size \(hidden) is not divisible by \(heads)")
        }
        let modernBERT = arch == .modernbert ? try ModernBERTConfig.parameters(json, layers: layers, hidden: hidden, heads: heads) : nil

        let h = Hyperparameters(
            vocabSize: vocab, hiddenSize: hidden, numHiddenLayers: layers, numAttentionHeads: heads,
            intermediateSize: intermediate, hiddenAct: act, maxPositionEmbeddings: maxPositions,
            typeVocabSize: typeVocab, layerNormEps: Float(eps),
            padTokenID: pad, numLabels: numLabels, embeddingSize: embeddingSize, modernBERT: modernBERT)
        guard pad >= 0, pad < h.vocabSize else { throw ImportError.invalidConfig(key: "pad_token_id", reason: "\(pad) is outside the vocabulary") }
        if arch == .roberta, h.maxPositionEmbeddings <= pad + 1 {
            throw ImportError.invalidConfig(key: "max_position_embeddings", reason: "\(h.maxPositionEmbeddings) leaves no position: RoBERTa positions start at pad_token_id + 1 = \(pad + 1)")
        }
        hyperparameters = h
        self.labels = labels
    }
}
