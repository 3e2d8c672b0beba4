import CECore
import CEGraph

/// ModernBERT's config.json as transformers 5.23's ModernBertConfig resolves it (configuration_modernbert.py and
/// modeling_rope_utils.py), including the hub-era keys it still reads (`global_attn_every_n_layers`,
/// `global_rope_theta`, `local_rope_theta`, `rope_scaling`).
///
/// Keys that change what the reference computes are either reproduced or refused by name
/// (`ImportError.unsupportedOption` for values transformers runs and cetool does not, `invalidConfig` for values
/// transformers refuses or cannot run). Keys the reference's ModernBertForSequenceClassification never reads at
/// inference (dropouts, initializer ranges, MLM-only keys, a top-level `rope_theta` or `partial_rotary_factor`,
/// which ModernBERT's default rotary initialisation does not consult) have no effect there and none here.
enum ModernBERTConfig {
    /// `hidden_activation` values cetool computes (transformers ACT2FN names).
    static let hiddenActivations: [String: HiddenActivation] = [
        "gelu": .gelu, "gelu_python": .gelu, "gelu_new": .geluTanh, "gelu_pytorch_tanh": .geluTanh, "relu": .relu,
    ]
    /// `classifier_activation` values cetool computes.
    static let classifierActivations: [String: PoolActivation] = [
        "gelu": .gelu, "gelu_python": .gelu, "gelu_new": .geluTanh, "gelu_pytorch_tanh": .geluTanh, "relu": .relu, "tanh": .tanh,
    ]

    static func bool(_ json: JSONValue, _ key: String, default d: Bool) throws -> Bool {
        guard let v = json[key], !v.isNull else { return d }
        // ModernBertConfig is a strict dataclass: 1 or "true" is refused there too.
        guard let b = v.boolValue else { throw ImportError.invalidConfig(key: key, reason: "not a boolean") }
        return b
    }

    static func positive(_ value: JSONValue?, key: String) throws -> Double {
        guard let t = value?.doubleValue, t.isFinite, t > 0 else {
            throw ImportError.invalidConfig(key: key, reason: "not a positive number")
        }
        return t
    }

    /// The hidden activation (`hidden_activation`, default "gelu").
    static func hiddenActivation(_ json: JSONValue) throws -> HiddenActivation {
        let name = json["hidden_activation"]?.stringValue ?? "gelu"
        guard json["hidden_activation"] == nil || json["hidden_activation"]?.stringValue != nil else {
            throw ImportError.invalidConfig(key: "hidden_activation", reason: "not a string")
        }
        guard let a = hiddenActivations[name] else {
            throw ImportError.unsupportedOption(key: "hidden_activation", value: name, supported: hiddenActivations.keys.sorted())
        }
        return a
    }

    /// Everything ModernBERT adds to the shared hyperparameters, for `layers` layers of `hidden`/`heads`.
    static func parameters(_ json: JSONValue, layers: Int, hidden: Int, heads: Int) throws -> ModernBERTParameters {
        // Layer kinds: `layer_types`, else every `global_attn_every_n_layers`-th layer (default 3) is global,
        // counting from layer 0 (configuration_modernbert.py __post_init__).
        var layerTypes: [AttentionSpan]
        if let lt = json["layer_types"], !lt.isNull {
            guard let items = lt.arrayValue else { throw ImportError.invalidConfig(key: "layer_types", reason: "not a list") }
            guard items.count == layers else {
                throw ImportError.invalidConfig(key: "layer_types", reason: "\(items.count) entries for num_hidden_layers \(layers)")
            }
            layerTypes = try items.enumerated().map { i, v in
                guard let s = v.stringValue, let span = AttentionSpan(rawValue: s) else {
                    // transformers builds such a model but has no mask or rotary table for the kind: it cannot run it.
                    throw ImportError.invalidConfig(key: "layer_types[\(i)]", reason: "\(displayEscaped(v.stringValue ?? "non-string")) is not full_attention or sliding_attention")
                }
                return span
            }
        } else {
            var every = 3
            if let v = json["global_attn_every_n_layers"], !v.isNull {
                guard let n = v.intValue, n >= 1, n <= 1 << 16 else {
                    throw ImportError.invalidConfig(key: "global_attn_every_n_layers", reason: "not an integer >= 1")
                }
                every = n
            }
            layerTypes = (0..<layers).map { $0 % every == 0 ? .global : .local }
        }

        // local_attention (default 128); a `sliding_window` key sets it to twice its value (ModernBertConfig's
        // sliding_window setter runs after the field is set, whatever the key order).
        var localAttention = 128
        if let v = json["local_attention"], !v.isNull {
            guard let n = v.intValue, n >= 0, n <= 1 << 20 else { throw ImportError.invalidConfig(key: "local_attention", reason: "not an integer >= 0") }
            localAttention = n
        }
        if let v = json["sliding_window"], !v.isNull {
            guard let n = v.intValue, n >= 0, n <= 1 << 19 else { throw ImportError.invalidConfig(key: "sliding_window", reason: "not an integer >= 0") }
            localAttention = 2 * n
        }

        let (globalTheta, localTheta) = try ropeThetas(json)

        if let hd = json["head_dim"], !hd.isNull, hd.intValue != hidden / heads {
            // The rotary tables would be built for head_dim, the attention for hidden_size / heads: transformers fails.
            throw ImportError.invalidConfig(key: "head_dim", reason: "differs from hidden_size / num_attention_heads = \(hidden / heads)")
        }
        guard (hidden / heads) % 2 == 0 else {
            throw ImportError.invalidConfig(key: "num_attention_heads", reason: "head size \(hidden / heads) is odd; rotary embeddings rotate pairs")
        }

        let pooling: Pooling
        switch json["classifier_pooling"] {
        case nil, .null?: pooling = .cls
        case let v?:
            guard let s = v.stringValue, let p = Pooling(rawValue: s) else {
                throw ImportError.invalidConfig(key: "classifier_pooling", reason: "\(displayEscaped(v.stringValue ?? "non-string")) is not cls or mean")
            }
            pooling = p
        }
        let actName = json["classifier_activation"]?.stringValue ?? "gelu"
        guard json["classifier_activation"] == nil || json["classifier_activation"]?.stringValue != nil else {
            throw ImportError.invalidConfig(key: "classifier_activation", reason: "not a string")
        }
        guard let classifierActivation = classifierActivations[actName] else {
            throw ImportError.unsupportedOption(key: "classifier_activation", value: actName, supported: classifierActivations.keys.sorted())
        }

        return ModernBERTParameters(
            layerTypes: layerTypes, localAttention: localAttention, globalRopeTheta: globalTheta, localRopeTheta: localTheta,
            attentionBias: try bool(json, "attention_bias", default: false), mlpBias: try bool(json, "mlp_bias", default: false),
            normBias: try bool(json, "norm_bias", default: false), classifierBias: try bool(json, "classifier_bias", default: false),
            classifierPooling: pooling, classifierActivation: classifierActivation)
    }

    /// The rotary bases of global and local layers, as ModernBertConfig.convert_rope_params_to_dict and
    /// standardize_rope_params resolve them: `rope_parameters` (per kind), updated by a hub-era `rope_scaling`;
    /// a kind without an entry or without `rope_theta` takes `global_rope_theta` / `local_rope_theta`, else
    /// 160,000 / 10,000. Only the "default" rotary type is computed; any other is refused by name.
    static func ropeThetas(_ json: JSONValue) throws -> (Double, Double) {
        let kinds = [AttentionSpan.global.rawValue, AttentionSpan.local.rawValue]
        var entries: [String: [(String, JSONValue)]] = [:]
        if let rp = json["rope_parameters"], !rp.isNull {
            guard let members = rp.objectValue else { throw ImportError.invalidConfig(key: "rope_parameters", reason: "not an object") }
            for (k, v) in members {
                // A flat (not per-kind) dict or another key fails ModernBertConfig's field validation.
                guard kinds.contains(k) else {
                    throw ImportError.invalidConfig(key: "rope_parameters", reason: "key \(displayEscaped(k)) is not full_attention or sliding_attention")
                }
                guard !v.isNull else {
                    // transformers then builds no rotary table for the kind and fails at the first forward pass.
                    throw ImportError.invalidConfig(key: "rope_parameters.\(k)", reason: "null")
                }
                guard let o = v.objectValue else { throw ImportError.invalidConfig(key: "rope_parameters.\(k)", reason: "not an object") }
                entries[k] = o
            }
        }
        if let rs = json["rope_scaling"], !rs.isNull {
            guard let o = rs.objectValue else { throw ImportError.invalidConfig(key: "rope_scaling", reason: "not an object") }
            for k in kinds {
                guard var e = entries[k] ?? (json["rope_parameters"] == nil || json["rope_parameters"]!.isNull ? [("rope_type", .string("default"))] : nil) else {
                    throw ImportError.invalidConfig(key: "rope_parameters", reason: "rope_scaling needs an entry for \(k)")
                }
                for (key, value) in o {
                    if let at = e.firstIndex(where: { $0.0 == key }) { e[at].1 = value } else { e.append((key, value)) }
                }
                entries[k] = e
            }
        }
        var thetas: [Double] = []
        for (k, legacyKey, fallback) in [(kinds[0], "global_rope_theta", 160_000.0), (kinds[1], "local_rope_theta", 10_000.0)] {
            let e = entries[k] ?? []
            func value(_ key: String) -> JSONValue? { e.last(where: { $0.0 == key })?.1 }
            let type = value("rope_type")?.stringValue ?? value("type")?.stringValue ?? "default"
            if value("rope_type").map({ $0.stringValue == nil }) ?? false {
                throw ImportError.invalidConfig(key: "rope_parameters.\(k).rope_type", reason: "not a string")
            }
            guard type == "default" else {
                throw ImportError.unsupportedOption(key: "rope_parameters.\(k).rope_type", value: type, supported: ["default"])
            }
            if let t = value("rope_theta"), !t.isNull {
                thetas.append(try positive(t, key: "rope_parameters.\(k).rope_theta"))
            } else if let t = json[legacyKey], !t.isNull {
                thetas.append(try positive(t, key: legacyKey))
            } else {
                thetas.append(fallback)
            }
        }
        return (thetas[0], thetas[1])
    }
}
