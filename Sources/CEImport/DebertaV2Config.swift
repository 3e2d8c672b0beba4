import CECore
import CEGraph

/// DeBERTa-v2/v3's config.json as transformers 5.23's DebertaV2Config and modeling_deberta_v2.py read it. Several keys
/// are not config fields but `getattr(config, key, default)` in the modules (position_buckets -1, share_att_key false,
/// norm_rel_ebd "none", conv_kernel_size 0, embedding_size hidden_size, attention_head_size hidden / heads).
///
/// Values the reference runs and cetool does not compute are refused by name (`ImportError.unsupportedOption`); values the
/// reference cannot run are `invalidConfig`. Keys inference never reads (dropouts, initializer_range, legacy, MLM keys)
/// change nothing here either. `pos_att_type` entries other than c2p / p2c (DeBERTa-v1's "p2p") are ignored by the
/// reference's v2 attention, and here.
enum DebertaV2Config {
    /// `pooler_hidden_act` values cetool computes (transformers ACT2FN names).
    static let poolerActivations: [String: PoolActivation] = [
        "gelu": .gelu, "gelu_python": .gelu, "gelu_new": .geluTanh, "gelu_pytorch_tanh": .geluTanh, "relu": .relu, "tanh": .tanh,
    ]

    static func bool(_ json: JSONValue, _ key: String, default d: Bool) throws -> Bool {
        guard let v = json[key], !v.isNull else { return d }
        guard let b = v.boolValue else { throw ImportError.invalidConfig(key: key, reason: "not a boolean") }
        return b
    }

    static func int(_ json: JSONValue, _ key: String, default d: Int) throws -> Int {
        guard let v = json[key], !v.isNull else { return d }
        guard let i = v.intValue, abs(i) <= 1 << 20 else { throw ImportError.invalidConfig(key: key, reason: "not an integer within ±2^20") }
        return i
    }

    /// A "a|b" string or a list of strings, lowercased and trimmed (DebertaV2Config.__post_init__, norm_rel_ebd's split).
    static func names(_ json: JSONValue, _ key: String) throws -> [String] {
        guard let v = json[key], !v.isNull else { return [] }
        if let s = v.stringValue { return s.lowercased().split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingSpaces } }
        guard let items = v.arrayValue else { throw ImportError.invalidConfig(key: key, reason: "not a string or a list of strings") }
        return try items.map {
            guard let s = $0.stringValue else { throw ImportError.invalidConfig(key: key, reason: "not a list of strings") }
            return s
        }
    }

    /// The type table's size: `type_vocab_size`, default 0 (no table).
    static func typeVocabSize(_ json: JSONValue) throws -> Int {
        let n = try int(json, "type_vocab_size", default: 0)
        guard n >= 0, n <= 1024 else { throw ImportError.invalidConfig(key: "type_vocab_size", reason: "\(n) is outside 0...1024") }
        return n
    }

    /// Everything DeBERTa-v2 adds to the shared hyperparameters, for a model of `hidden` / `heads` and `maxPositions`.
    static func parameters(_ json: JSONValue, hidden: Int, heads: Int, maxPositions: Int) throws -> DebertaV2Parameters {
        try refuseUncomputed(json, hidden: hidden, heads: heads)
        var maxRelative = try int(json, "max_relative_positions", default: -1)
        if maxRelative < 1 { maxRelative = maxPositions }
        let buckets = try int(json, "position_buckets", default: -1)
        let posAtt = try names(json, "pos_att_type")
        let actName = json["pooler_hidden_act"]?.stringValue ?? "gelu"
        guard json["pooler_hidden_act"] == nil || json["pooler_hidden_act"]?.stringValue != nil else {
            throw ImportError.invalidConfig(key: "pooler_hidden_act", reason: "not a string")
        }
        guard let poolerActivation = poolerActivations[actName] else {
            throw ImportError.unsupportedOption(key: "pooler_hidden_act", value: actName, supported: poolerActivations.keys.sorted())
        }
        let normRel: Bool
        if let v = json["norm_rel_ebd"], !v.isNull {
            guard let s = v.stringValue else { throw ImportError.invalidConfig(key: "norm_rel_ebd", reason: "not a string") }
            normRel = s.lowercased().split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingSpaces }.contains("layer_norm")
        } else {
            normRel = false
        }
        let p = DebertaV2Parameters(
            relativeAttention: try bool(json, "relative_attention", default: false), positionBuckets: buckets,
            maxRelativePositions: maxRelative, c2p: posAtt.contains("c2p"), p2c: posAtt.contains("p2c"),
            shareAttKey: try bool(json, "share_att_key", default: false), normRelEmbedding: normRel,
            positionBiasedInput: try bool(json, "position_biased_input", default: true), tokenTypes: try typeVocabSize(json) > 0,
            poolerActivation: poolerActivation)
        if p.relativeAttention, p.positionBuckets > 0, p.maxRelativePositions <= p.positionBuckets / 2 + 1 {
            // log((max_relative_positions − 1) / mid) ≤ 0: the reference's bucket ids are not finite.
            throw ImportError.invalidConfig(key: "max_relative_positions", reason: "\(p.maxRelativePositions) leaves no room for \(p.positionBuckets) log buckets")
        }
        return p
    }

    /// Options the reference runs and cetool does not compute, refused by name.
    static func refuseUncomputed(_ json: JSONValue, hidden: Int, heads: Int) throws {
        let conv = try int(json, "conv_kernel_size", default: 0)
        if conv > 0 { throw ImportError.unsupportedOption(key: "conv_kernel_size", value: String(conv), supported: ["0 (no ConvLayer)"]) }
        if let v = json["attention_head_size"], !v.isNull, v.intValue != hidden / heads {
            throw ImportError.unsupportedOption(key: "attention_head_size", value: v.intValue.map(String.init) ?? "non-integer",
                                                supported: ["hidden_size / num_attention_heads = \(hidden / heads)"])
        }
        if let v = json["pooler_hidden_size"], !v.isNull, v.intValue != hidden {
            // ContextPooler is pooler_hidden_size wide, the classifier reads hidden_size: they must agree.
            throw ImportError.invalidConfig(key: "pooler_hidden_size", reason: "differs from hidden_size \(hidden)")
        }
    }
}

extension Substring {
    /// Python's str.strip() of ASCII whitespace.
    fileprivate var trimmingSpaces: String {
        var s = self
        while let c = s.first, c == " " || c == "\t" || c == "\n" || c == "\r" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" || c == "\r" { s = s.dropLast() }
        return String(s)
    }
}
