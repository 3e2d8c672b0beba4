import CECore
import CEGraph

/// Qwen3 / Qwen2 / Llama config.json as transformers 5.23's Qwen3Config, Qwen2Config and LlamaConfig resolve it for
/// their `…ForSequenceClassification` models (configuration_*.py and PreTrainedConfig.convert_rope_params_to_dict).
///
/// Values transformers runs and cetool does not compute are refused naming the field
/// (`ImportError.unsupportedOption`): a rotary type other than `default`, sliding-window layers, a hidden activation
/// other than SiLU. Keys the reference's forward pass never reads (dropouts, initializer ranges, `use_cache`,
/// `tie_word_embeddings` — a sequence classifier has no LM head —, `max_window_layers` without sliding windows,
/// Llama's `pretraining_tp`, a default rope's `partial_rotary_factor`) have no effect there and none here.
enum DecoderConfig {
    /// config.json `architectures[0]` -> family.
    static let architectures: [String: DecoderFamily] = [
        "Qwen3ForSequenceClassification": .qwen3, "Qwen2ForSequenceClassification": .qwen2, "LlamaForSequenceClassification": .llama,
    ]
    /// ACT2FN names of x·sigmoid(x).
    static let activations: Set<String> = ["silu", "swish"]
    /// Defaults of the config classes (vocab, hidden, intermediate, layers, heads, max positions).
    static func defaults(_ f: DecoderFamily) -> [String: Int] {
        switch f {
        case .qwen3, .qwen2:
            return ["vocab_size": 151_936, "hidden_size": 4096, "intermediate_size": 22016, "num_hidden_layers": 32,
                    "num_attention_heads": 32, "max_position_embeddings": 32768]
        case .llama:
            return ["vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                    "num_attention_heads": 32, "max_position_embeddings": 2048]
        }
    }

    static func bool(_ json: JSONValue, _ key: String, default d: Bool) throws -> Bool {
        guard let v = json[key], !v.isNull else { return d }
        guard let b = v.boolValue else { throw ImportError.invalidConfig(key: key, reason: "not a boolean") }
        return b
    }

    /// A positive integer under `key` within `cap`, or `d` when absent or null.
    static func int(_ json: JSONValue, _ key: String, default d: Int?, cap: Int) throws -> Int {
        guard let v = json[key], !v.isNull else {
            guard let d else { throw ImportError.invalidConfig(key: key, reason: "missing") }
            return d
        }
        guard let i = v.intValue else { throw ImportError.invalidConfig(key: key, reason: "not an integer") }
        guard i >= 1, i <= cap else { throw ImportError.invalidConfig(key: key, reason: "\(i) is outside 1...\(cap)") }
        return i
    }

    /// The hyperparameters of a decoder whose config.json is `json`, with `numLabels` labels.
    static func hyperparameters(_ json: JSONValue, family f: DecoderFamily, numLabels: Int) throws -> Hyperparameters {
        let d = defaults(f)
        func size(_ key: String, cap: Int) throws -> Int { try int(json, key, default: d[key], cap: cap) }
        let vocab = try size("vocab_size", cap: 1 << 22), hidden = try size("hidden_size", cap: 16384)
        let layers = try size("num_hidden_layers", cap: 256), heads = try size("num_attention_heads", cap: 1024)
        let intermediate = try size("intermediate_size", cap: 65536)
        // No position table: the length cap only (rotary angles grow with the longest sequence seen).
        let maxPositions = try size("max_position_embeddings", cap: 1 << 20)
        // Qwen2Config / Qwen3Config default num_key_value_heads to 32 when the key is absent (null: the query heads);
        // LlamaConfig to the query heads.
        let kvHeads = json["num_key_value_heads"] == nil && f != .llama ? 32 : try int(json, "num_key_value_heads", default: heads, cap: 1024)
        guard heads % kvHeads == 0 else {
            throw ImportError.invalidConfig(key: "num_key_value_heads", reason: "\(kvHeads) does not divide num_attention_heads \(heads)")
        }
        // Qwen3Config's head_dim defaults to 128; Qwen2 and Llama use hidden_size / heads unless the key is set.
        let headDim = try int(json, "head_dim", default: f == .qwen3 ? 128 : hidden / heads, cap: 1024)
        guard headDim % 2 == 0 else { throw ImportError.invalidConfig(key: "head_dim", reason: "\(headDim) is odd; rotary embeddings rotate pairs") }
        let act = json["hidden_act"]?.stringValue ?? "silu"
        guard json["hidden_act"] == nil || json["hidden_act"]?.stringValue != nil else {
            throw ImportError.invalidConfig(key: "hidden_act", reason: "not a string")
        }
        guard activations.contains(act) else { throw ImportError.unsupportedOption(key: "hidden_act", value: act, supported: activations.sorted()) }
        let eps = json["rms_norm_eps"].map { $0.isNull ? 1e-6 : $0.doubleValue ?? -1 } ?? 1e-6
        guard eps > 0, eps < 1 else { throw ImportError.invalidConfig(key: "rms_norm_eps", reason: "\(eps) is outside (0, 1)") }
        try refuseSlidingWindows(json, layers: layers)
        let attentionBias = try bool(json, "attention_bias", default: false)
        var pad: Int?
        if let v = json["pad_token_id"], !v.isNull {
            guard let p = v.intValue, p >= 0, p < vocab else { throw ImportError.invalidConfig(key: "pad_token_id", reason: "outside the vocabulary") }
            pad = p
        }
        let m = DecoderParameters(
            family: f, numKeyValueHeads: kvHeads, headDim: headDim, ropeTheta: try ropeTheta(json),
            qkvBias: f == .qwen2 ? true : attentionBias, outputBias: f == .qwen2 ? false : attentionBias,
            mlpBias: f == .llama ? try bool(json, "mlp_bias", default: false) : false, poolPadTokenID: pad)
        return Hyperparameters(
            vocabSize: vocab, hiddenSize: hidden, numHiddenLayers: layers, numAttentionHeads: heads, intermediateSize: intermediate,
            hiddenAct: .silu, maxPositionEmbeddings: maxPositions, typeVocabSize: 1, layerNormEps: Float(eps), padTokenID: pad ?? 0,
            numLabels: numLabels, decoder: m)
    }

    /// Sliding-window layers (Qwen2/Qwen3 `use_sliding_window` with `sliding_window`, from layer `max_window_layers` on,
    /// or listed in `layer_types`) are refused by name: cetool computes full causal attention only.
    static func refuseSlidingWindows(_ json: JSONValue, layers: Int) throws {
        if let lt = json["layer_types"], !lt.isNull {
            guard let items = lt.arrayValue, items.count == layers else {
                throw ImportError.invalidConfig(key: "layer_types", reason: "not a list of \(layers) layer kinds")
            }
            for (i, v) in items.enumerated() where v.stringValue != "full_attention" {
                throw ImportError.unsupportedOption(key: "layer_types[\(i)]", value: v.stringValue ?? "non-string", supported: ["full_attention"])
            }
            return
        }
        let window = json["sliding_window"].map { !$0.isNull } ?? true
        let maxWindowLayers = json["max_window_layers"]?.intValue ?? 28
        if try bool(json, "use_sliding_window", default: false), window, maxWindowLayers < layers {
            throw ImportError.unsupportedOption(key: "use_sliding_window", value: "true", supported: ["false"])
        }
    }

    /// The rotary base as convert_rope_params_to_dict resolves it: `rope_scaling` (hub-era) replaces `rope_parameters`;
    /// its `rope_theta`, else a top-level `rope_theta`, else 10,000. Only the `default` type is computed.
    static func ropeTheta(_ json: JSONValue) throws -> Double {
        var params: JSONValue?
        for key in ["rope_scaling", "rope_parameters"] {
            guard let v = json[key], !v.isNull else { continue }
            guard let o = v.objectValue else { throw ImportError.invalidConfig(key: key, reason: "not an object") }
            if !o.isEmpty { params = v; break }
        }
        let key = json["rope_scaling"].map { !$0.isNull && !($0.objectValue?.isEmpty ?? true) } ?? false ? "rope_scaling" : "rope_parameters"
        if let params {
            let type = params["rope_type"] ?? params["type"]
            if let type, !type.isNull {
                guard let t = type.stringValue else { throw ImportError.invalidConfig(key: "\(key).rope_type", reason: "not a string") }
                guard t == "default" else { throw ImportError.unsupportedOption(key: "\(key).rope_type", value: t, supported: ["default"]) }
            }
            if let t = params["rope_theta"], !t.isNull { return try positive(t, key: "\(key).rope_theta") }
        }
        if let t = json["rope_theta"], !t.isNull { return try positive(t, key: "rope_theta") }
        return 10_000
    }

    static func positive(_ v: JSONValue, key: String) throws -> Double {
        guard let t = v.doubleValue, t.isFinite, t > 0 else { throw ImportError.invalidConfig(key: key, reason: "not a positive number") }
        return t
    }
}
