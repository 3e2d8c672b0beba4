import CEGraph

/// HF tensor names <-> canonical names (formats/graph.md), one data table per architecture. The only place
/// HF tensor names appear.
struct HFNames: Sendable {
    /// The head's trunk attribute (`bert.`, `roberta.`, …). Trunk names are read with or without it (a bare
    /// encoder checkpoint plus head, as transformers accepts) and always written with it.
    let trunkPrefix: String
    /// Trunk-relative source tensors that carry nothing the graph uses; skipped on purpose.
    let ignored: Set<String>
    /// Trunk-relative module name -> canonical base name (embeddings, pooler).
    let trunk: [(hf: String, canonical: Layer)]
    /// Module name outside the trunk (the classification head) -> canonical base name.
    let head: [(hf: String, canonical: Layer)]
    /// Trunk-relative prefix of layer i's modules, before the index: `encoder.layer.`, `transformer.layer.`.
    let layerPrefix: String
    /// Module name inside a layer -> canonical base name of block i.
    let layer: [(hf: String, canonical: @Sendable (Int) -> Layer)]

    typealias T = TensorName

    /// BertModel / RobertaModel / ElectraModel layer modules (BertLayer and its copies).
    static let bertLayer: [(hf: String, canonical: @Sendable (Int) -> Layer)] = [
        ("attention.self.query", T.attnQ), ("attention.self.key", T.attnK), ("attention.self.value", T.attnV),
        ("attention.output.dense", T.attnOut), ("attention.output.LayerNorm", T.attnNorm),
        ("intermediate.dense", T.ffnUp), ("output.dense", T.ffnDown), ("output.LayerNorm", T.ffnNorm),
    ]
    /// BertEmbeddings and its copies (RobertaEmbeddings, ElectraEmbeddings).
    static let bertEmbeddings: [(hf: String, canonical: Layer)] = [
        ("embeddings.word_embeddings", T.tokenEmbedding), ("embeddings.position_embeddings", T.positionEmbedding),
        ("embeddings.token_type_embeddings", T.typeEmbedding), ("embeddings.LayerNorm", T.embeddingNorm),
    ]
    /// Non-persistent buffers older transformers versions saved.
    static let bufferNames: Set<String> = ["embeddings.position_ids", "embeddings.token_type_ids"]

    /// BertForSequenceClassification: bert.{embeddings, encoder, pooler}, classifier.
    static let bert = HFNames(
        trunkPrefix: "bert.", ignored: bufferNames, trunk: bertEmbeddings + [("pooler.dense", T.classifierPool)],
        head: [("classifier", T.classifierOut)], layerPrefix: "encoder.layer.", layer: bertLayer)

    /// RobertaForSequenceClassification, XLMRobertaForSequenceClassification and CamembertForSequenceClassification (all keep the trunk under
    /// `roberta.`): RobertaClassificationHead classifier.dense / classifier.out_proj. The trunk is built
    /// without a pooler; a `roberta.pooler.dense` some checkpoints carry is unused by the head, and
    /// transformers drops it on load as an unexpected key, so it is ignored here too.
    static let roberta = HFNames(
        trunkPrefix: "roberta.", ignored: bufferNames.union(["pooler.dense.weight", "pooler.dense.bias"]), trunk: bertEmbeddings,
        head: [("classifier.dense", T.classifierPool), ("classifier.out_proj", T.classifierOut)],
        layerPrefix: "encoder.layer.", layer: bertLayer)

    /// DistilBertForSequenceClassification: distilbert.{embeddings, transformer.layer}, pre_classifier, classifier.
    static let distilbert = HFNames(
        trunkPrefix: "distilbert.", ignored: ["embeddings.position_ids"],
        trunk: [("embeddings.word_embeddings", T.tokenEmbedding), ("embeddings.position_embeddings", T.positionEmbedding),
                ("embeddings.LayerNorm", T.embeddingNorm)],
        head: [("pre_classifier", T.classifierPool), ("classifier", T.classifierOut)],
        layerPrefix: "transformer.layer.",
        layer: [("attention.q_lin", T.attnQ), ("attention.k_lin", T.attnK), ("attention.v_lin", T.attnV),
                ("attention.out_lin", T.attnOut), ("sa_layer_norm", T.attnNorm),
                ("ffn.lin1", T.ffnUp), ("ffn.lin2", T.ffnDown), ("output_layer_norm", T.ffnNorm)])

    /// ElectraForSequenceClassification: electra.{embeddings, embeddings_project, encoder},
    /// ElectraClassificationHead classifier.dense / classifier.out_proj.
    static let electra = HFNames(
        trunkPrefix: "electra.", ignored: bufferNames, trunk: bertEmbeddings + [("embeddings_project", T.embeddingProjection)],
        head: [("classifier.dense", T.classifierPool), ("classifier.out_proj", T.classifierOut)],
        layerPrefix: "encoder.layer.", layer: bertLayer)

    /// ModernBertForSequenceClassification: model.{embeddings, layers, final_norm}, head.{dense, norm}, classifier.
    /// Which biases exist follows the config's flags (TensorName.required); the rotary inverse frequencies are
    /// non-persistent buffers, never saved.
    static let modernbert = HFNames(
        trunkPrefix: "model.", ignored: [],
        trunk: [("embeddings.tok_embeddings", T.tokenEmbedding), ("embeddings.norm", T.embeddingNorm), ("final_norm", T.outputNorm)],
        head: [("head.dense", T.classifierPool), ("head.norm", T.classifierPoolNorm), ("classifier", T.classifierOut)],
        layerPrefix: "layers.",
        layer: [("attn_norm", T.attnNorm), ("attn.Wqkv", T.attnQKV), ("attn.Wo", T.attnOut), ("mlp_norm", T.ffnNorm),
                ("mlp.Wi", T.ffnUp), ("mlp.Wo", T.ffnDown)])

    /// DebertaV2ForSequenceClassification: deberta.{embeddings, encoder.{layer, rel_embeddings, LayerNorm}}, pooler.dense
    /// (ContextPooler, outside the trunk), classifier. embed_proj has no bias; pos_key_proj / pos_query_proj exist only
    /// without share_att_key (TensorName.required decides which are expected).
    static let debertaV2 = HFNames(
        trunkPrefix: "deberta.", ignored: ["embeddings.position_ids"],
        trunk: [("embeddings.word_embeddings", T.tokenEmbedding), ("embeddings.position_embeddings", T.positionEmbedding),
                ("embeddings.token_type_embeddings", T.typeEmbedding), ("embeddings.embed_proj", T.embeddingProjection),
                ("embeddings.LayerNorm", T.embeddingNorm), ("encoder.rel_embeddings", T.relativeEmbedding),
                ("encoder.LayerNorm", T.relativeEmbeddingNorm)],
        head: [("pooler.dense", T.classifierPool), ("classifier", T.classifierOut)],
        layerPrefix: "encoder.layer.",
        layer: [("attention.self.query_proj", T.attnQ), ("attention.self.key_proj", T.attnK), ("attention.self.value_proj", T.attnV),
                ("attention.self.pos_key_proj", T.attnPosK), ("attention.self.pos_query_proj", T.attnPosQ),
                ("attention.output.dense", T.attnOut), ("attention.output.LayerNorm", T.attnNorm),
                ("intermediate.dense", T.ffnUp), ("output.dense", T.ffnDown), ("output.LayerNorm", T.ffnNorm)])
    /// Qwen3ForSequenceClassification, Qwen2ForSequenceClassification, LlamaForSequenceClassification:
    /// model.{embed_tokens, layers, norm}, score (no bias). q_norm / k_norm exist in Qwen3 only, biases as the config's
    /// flags say (TensorName.required); the rotary inverse frequencies are non-persistent buffers, never saved.
    static let decoder = HFNames(
        trunkPrefix: "model.", ignored: [],
        trunk: [("embed_tokens", T.tokenEmbedding), ("norm", T.outputNorm)],
        head: [("score", T.classifierOut)],
        layerPrefix: "layers.",
        layer: [("input_layernorm", T.attnNorm), ("self_attn.q_proj", T.attnQ), ("self_attn.k_proj", T.attnK),
                ("self_attn.v_proj", T.attnV), ("self_attn.q_norm", T.attnQNorm), ("self_attn.k_norm", T.attnKNorm),
                ("self_attn.o_proj", T.attnOut), ("post_attention_layernorm", T.ffnNorm), ("mlp.gate_proj", T.ffnGate),
                ("mlp.up_proj", T.ffnUp), ("mlp.down_proj", T.ffnDown)])

    static func table(_ a: Architecture) -> HFNames {
        switch a {
        case .decoder: return decoder
        case .bert: return bert
        case .roberta: return roberta
        case .distilbert: return distilbert
        case .electra: return electra
        case .modernbert: return modernbert
        case .debertaV2: return debertaV2
        }
    }

    /// Trunk-relative module name (weight/bias suffix removed) -> canonical base name.
    func canonicalTrunkBase(_ hf: String) -> Layer? {
        if let e = trunk.first(where: { $0.hf == hf }) { return e.canonical }
        guard hf.hasPrefix(layerPrefix) else { return nil }
        // {i}.<rest>
        let parts = hf.dropFirst(layerPrefix.count).split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), i >= 0, String(i) == parts[0] else { return nil }
        return layer.first(where: { $0.hf == parts[1] }).map { $0.canonical(i) }
    }

    /// Full HF name -> canonical name, or nil when unknown. TF-era LayerNorm `gamma`/`beta` are read as
    /// `weight`/`bias`, as transformers does on load.
    func canonical(_ name: String) -> String? {
        let suffixes: [(String, KeyPath<Layer, String>)] = [(".weight", \.weight), (".bias", \.bias), (".gamma", \.weight), (".beta", \.bias)]
        for (s, tensor) in suffixes where name.hasSuffix(s) {
            let base = String(name.dropLast(s.count))
            if base.hasPrefix(trunkPrefix) {
                if let c = canonicalTrunkBase(String(base.dropFirst(trunkPrefix.count))) { return c[keyPath: tensor] }
                continue
            }
            if let c = head.first(where: { $0.hf == base })?.canonical ?? canonicalTrunkBase(base) { return c[keyPath: tensor] }
        }
        return nil
    }

    /// Canonical name -> the full HF name the architecture's save_pretrained writes (trunk names with the
    /// trunk prefix, head names without). Nil when the name is not one of the architecture's tensors
    /// (e.g. an int8 `_scale` companion, which has no HF counterpart).
    func huggingFace(_ canonical: String) -> String? {
        let suffix: String
        if canonical.hasSuffix(".weight") { suffix = ".weight" } else if canonical.hasSuffix(".bias") { suffix = ".bias" } else { return nil }
        let base = String(canonical.dropLast(suffix.count))
        if let h = head.first(where: { $0.canonical.name == base }) { return h.hf + suffix }
        // LayerNorms are saved as weight/bias, never as the TF-era gamma/beta the reader also accepts.
        if let t = trunk.first(where: { $0.canonical.name == base }) { return trunkPrefix + t.hf + suffix }
        // blk.{i}.<part>
        let parts = base.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "blk", let i = Int(parts[1]), i >= 0, String(i) == parts[1],
              let l = layer.first(where: { $0.canonical(i).name == base }) else { return nil }
        return trunkPrefix + layerPrefix + "\(i)." + l.hf + suffix
    }

    func isIgnored(_ name: String) -> Bool {
        ignored.contains(name.hasPrefix(trunkPrefix) ? String(name.dropFirst(trunkPrefix.count)) : name)
    }
}
