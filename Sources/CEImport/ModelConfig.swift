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
        "DebertaV2ForSequenceClassification": .debertaV2,
        // Decoders (DecoderConfig.swift): one graph, the family in Hyperparameters.decoder.
        "Qwen3ForSequenceClassification": .decoder, "Qwen2ForSequenceClassification": .decoder, "LlamaForSequenceClassification": .decoder,
    ]

    /// Bare encoders (no classification head; a SentenceTransformer's Transformer module): imported with
    /// numLabels 0, their graph ending with the last hidden states (Graph.isEncoderOnly).
    public static let bareEncoders: [String: Architecture] = [
        "BertModel": .bert, "RobertaModel": .roberta, "XLMRobertaModel": .roberta, "CamembertModel": .roberta,
        "DistilBertModel": .distilbert, "ElectraModel": .electra, "ModernBertModel": .modernbert, "DebertaV2Model": .debertaV2,
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
        (architectureName, architecture) = try Self.architecture(json)
        let arch = architecture
        let (labels, numLabels) = try Self.labels(json, arch, bare: Self.bareEncoders[architectureName] != nil)
        if let family = DecoderConfig.architectures[architectureName] {
            hyperparameters = try DecoderConfig.hyperparameters(json, family: family, numLabels: numLabels)
            self.labels = labels
            return
        }
        let act = try Self.hiddenActivation(json, arch)
        let eps = try Self.layerNormEps(json, arch)
        let pad = Self.padTokenID(json, arch)
        let hidden = try Self.int(json, "hidden_size", arch)
        // ELECTRA: embedding_size (ElectraConfig default 128); the others embed at hidden_size.
        let embeddingSize = arch == .electra ? try Self.int(json, "embedding_size", arch, default: 128)
            : arch == .debertaV2 ? try Self.int(json, "embedding_size", arch, default: hidden) : hidden
        // DistilBERT and ModernBERT have no token type table (a placeholder of 1 keeps the hyperparameters total).
        let typeVocab = arch == .distilbert || arch == .modernbert ? 1
            : arch == .debertaV2 ? max(1, try DebertaV2Config.typeVocabSize(json)) : try Self.int(json, "type_vocab_size", arch, default: 2)
        let vocab = try Self.int(json, "vocab_size", arch)
        let layers = try Self.int(json, "num_hidden_layers", arch), heads = try Self.int(json, "num_attention_heads", arch)
        let intermediate = try Self.int(json, "intermediate_size", arch)
        let maxPositions = try Self.int(json, "max_position_embeddings", arch, default: arch == .modernbert ? 8192 : 512)
        guard hidden % heads == 0 else {
            throw ImportError.invalidConfig(key: Self.key("num_attention_heads", arch), reason: "hidden_size \(hidden) is not divisible by \(heads)")
        }
        let modernBERT = arch == .modernbert ? try ModernBERTConfig.parameters(json, layers: layers, hidden: hidden, heads: heads) : nil
        let debertaV2 = arch == .debertaV2 ? try DebertaV2Config.parameters(json, hidden: hidden, heads: heads, maxPositions: maxPositions) : nil

        let h = Hyperparameters(
            vocabSize: vocab, hiddenSize: hidden, numHiddenLayers: layers, numAttentionHeads: heads,
            intermediateSize: intermediate, hiddenAct: act, maxPositionEmbeddings: maxPositions,
            typeVocabSize: typeVocab, layerNormEps: Float(eps),
            padTokenID: pad, numLabels: numLabels, embeddingSize: embeddingSize, modernBERT: modernBERT,
            debertaV2: debertaV2)
        guard pad >= 0, pad < h.vocabSize else { throw ImportError.invalidConfig(key: "pad_token_id", reason: "\(pad) is outside the vocabulary") }
        if arch == .roberta, h.maxPositionEmbeddings <= pad + 1 {
            throw ImportError.invalidConfig(key: "max_position_embeddings", reason: "\(h.maxPositionEmbeddings) leaves no position: RoBERTa positions start at pad_token_id + 1 = \(pad + 1)")
        }
        hyperparameters = h
        self.labels = labels
    }

    /// config.json `architectures[0]`, which must be one cetool imports.
    static func architecture(_ json: JSONValue) throws -> (String, Architecture) {
        let archs = json["architectures"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard let name = archs.first else {
            let mt = json["model_type"]?.stringValue ?? "unknown"
            throw ImportError.unsupportedArchitecture(name: "(no architectures; model_type \(mt))", supported: supported.keys.sorted())
        }
        guard let arch = supported[name] ?? bareEncoders[name] else {
            throw ImportError.unsupportedArchitecture(name: name, supported: supported.keys.sorted())
        }
        return (name, arch)
    }

    /// A size under its config.json key for `arch`, an integer in 1...its limit; `d` when the key is absent.
    static func int(_ json: JSONValue, _ name: String, _ arch: Architecture, default d: Int? = nil) throws -> Int {
        let key = key(name, arch)
        guard let v = json[key] else {
            if let d { return d }
            throw ImportError.invalidConfig(key: key, reason: "missing")
        }
        guard let i = v.intValue else { throw ImportError.invalidConfig(key: key, reason: "not an integer") }
        let cap = limits[name] ?? Int.max
        guard i >= 1, i <= cap else { throw ImportError.invalidConfig(key: key, reason: "\(i) is outside 1...\(cap)") }
        return i
    }

    /// Label names and count: id2label decides num_labels when present, as transformers' PretrainedConfig does;
    /// an explicit num_labels that disagrees renames them LABEL_i; neither means PretrainedConfig's default of 2.
    static func labels(_ json: JSONValue, _ arch: Architecture, bare: Bool) throws -> ([String], Int) {
        // A bare encoder has no head: id2label / num_labels describe nothing the model computes.
        if bare { return ([], 0) }
        var labels: [String] = []
        if let id2label = json["id2label"]?.objectValue, !id2label.isEmpty {
            guard id2label.count <= limits["num_labels"]! else { throw ImportError.invalidConfig(key: "id2label", reason: "too many labels") }
            var byID: [Int: String] = [:]
            for (k, v) in id2label {
                guard let id = Int(k), id >= 0, id < id2label.count, let s = v.stringValue else {
                    throw ImportError.invalidConfig(key: "id2label", reason: "entry \"\(k)\" is not id -> name for ids 0..<\(id2label.count)")
                }
                byID[id] = s
            }
            labels = (0..<id2label.count).map { byID[$0] ?? "LABEL_\($0)" }
        }
        if json["num_labels"] != nil {
            let numLabels = try int(json, "num_labels", arch)
            if labels.count != numLabels { labels = (0..<numLabels).map { "LABEL_\($0)" } }
            return (labels, numLabels)
        }
        if !labels.isEmpty { return (labels, labels.count) }
        return (["LABEL_0", "LABEL_1"], 2)
    }

    /// The feed-forward activation (hidden_act, DistilBERT's activation, ModernBERT's hidden_activation); only
    /// absolute position embeddings are accepted.
    static func hiddenActivation(_ json: JSONValue, _ arch: Architecture) throws -> HiddenActivation {
        if let pe = json["position_embedding_type"]?.stringValue, pe != "absolute" {
            throw ImportError.invalidConfig(key: "position_embedding_type", reason: "\"\(pe)\" is not supported (absolute)")
        }
        if arch == .modernbert { return try ModernBERTConfig.hiddenActivation(json) }
        let actKey = key("hidden_act", arch)
        let actName = json[actKey]?.stringValue ?? "gelu"
        switch actName {
        case "gelu": return .gelu
        case "relu": return .relu
        case "gelu_new", "gelu_pytorch_tanh": return .geluTanh
        default: throw ImportError.invalidConfig(key: actKey, reason: "\"\(actName)\" is not supported (gelu, relu, gelu_new, gelu_pytorch_tanh)")
        }
    }

    /// DistilBERT's LayerNorms are built with eps=1e-12 whatever the config says; ModernBERT's default is 1e-5, DeBERTa-v2's 1e-7.
    static func layerNormEps(_ json: JSONValue, _ arch: Architecture) throws -> Double {
        let epsKey = key("layer_norm_eps", arch)
        let eps = arch == .distilbert ? 1e-12 : json[epsKey]?.doubleValue ?? (arch == .modernbert ? 1e-5 : arch == .debertaV2 ? 1e-7 : 1e-12)
        guard eps > 0, eps < 1 else { throw ImportError.invalidConfig(key: epsKey, reason: "\(eps) is outside (0, 1)") }
        return eps
    }

    /// ModernBERT's pad_token_id (default 50283) only marks the embedding's padding row, which inference never
    /// treats differently; null (no padding row) is accepted as 0. RoBERTa's default is 1, the others' 0.
    static func padTokenID(_ json: JSONValue, _ arch: Architecture) -> Int {
        if arch == .modernbert { return json["pad_token_id"].map { $0.isNull ? 0 : $0.intValue ?? -1 } ?? 50283 }
        return json["pad_token_id"]?.intValue ?? (arch == .roberta ? 1 : 0)
    }
}
