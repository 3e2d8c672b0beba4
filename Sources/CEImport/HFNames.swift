import CEGraph

/// HF BERT tensor names -> canonical names (formats/graph.md). The only place HF BERT names appear.
enum BertNames {
    /// Prefixes a BertFor* head puts before the trunk's names.
    static let trunkPrefixes = ["bert."]

    /// Source tensors that carry no weights the graph uses; skipped on purpose.
    static let ignored: Set<String> = ["embeddings.position_ids", "embeddings.token_type_ids"]

    /// Trunk-relative HF name (no "bert." prefix, weight/bias suffix removed) -> canonical base name.
    static func canonicalBase(_ hf: String) -> String? {
        switch hf {
        case "embeddings.word_embeddings": return TensorName.tokenEmbedding
        case "embeddings.position_embeddings": return TensorName.positionEmbedding
        case "embeddings.token_type_embeddings": return TensorName.typeEmbedding
        case "embeddings.LayerNorm": return TensorName.embeddingNorm
        case "pooler.dense": return TensorName.classifierPool
        case "classifier": return TensorName.classifierOut
        default: break
        }
        // encoder.layer.{i}.<rest>
        let parts = hf.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "encoder", parts[1] == "layer",
              let i = Int(parts[2]), i >= 0, String(i) == parts[2] else { return nil }
        switch parts[3] {
        case "attention.self.query": return TensorName.attnQ(i)
        case "attention.self.key": return TensorName.attnK(i)
        case "attention.self.value": return TensorName.attnV(i)
        case "attention.output.dense": return TensorName.attnOut(i)
        case "attention.output.LayerNorm": return TensorName.attnNorm(i)
        case "intermediate.dense": return TensorName.ffnUp(i)
        case "output.dense": return TensorName.ffnDown(i)
        case "output.LayerNorm": return TensorName.ffnNorm(i)
        default: return nil
        }
    }

    /// Full HF name -> canonical name, or nil when unknown. TF-era LayerNorm `gamma`/`beta` are read as
    /// `weight`/`bias`, as transformers does on load.
    static func canonical(_ name: String) -> String? {
        var n = name
        for p in trunkPrefixes where n.hasPrefix(p) { n.removeFirst(p.count) }
        let suffixes = [(".weight", ".weight"), (".bias", ".bias"), (".gamma", ".weight"), (".beta", ".bias")]
        for (s, canonicalSuffix) in suffixes where n.hasSuffix(s) {
            let base = String(n.dropLast(s.count))
            if let c = canonicalBase(base) { return c + canonicalSuffix }
        }
        return nil
    }

    /// Canonical name -> the full HF name BertForSequenceClassification saves it under (the reverse of
    /// `canonical`, with the `bert.` trunk prefix; the classifier sits outside the trunk). Nil when the
    /// name is not a BERT tensor (e.g. an int8 `_scale` companion, which has no HF counterpart).
    static func huggingFace(_ canonical: String) -> String? {
        let suffix: String
        if canonical.hasSuffix(".weight") { suffix = ".weight" } else if canonical.hasSuffix(".bias") { suffix = ".bias" } else { return nil }
        let base = String(canonical.dropLast(suffix.count))
        let hf: String
        switch base {
        case TensorName.tokenEmbedding: hf = "embeddings.word_embeddings"
        case TensorName.positionEmbedding: hf = "embeddings.position_embeddings"
        case TensorName.typeEmbedding: hf = "embeddings.token_type_embeddings"
        case TensorName.embeddingNorm: hf = "embeddings.LayerNorm"
        case TensorName.classifierPool: hf = "pooler.dense"
        case TensorName.classifierOut: return "classifier" + suffix
        default:
            // blk.{i}.<part>
            let parts = base.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "blk", let i = Int(parts[1]), i >= 0, String(i) == parts[1] else { return nil }
            let rest: String
            switch base {
            case TensorName.attnQ(i): rest = "attention.self.query"
            case TensorName.attnK(i): rest = "attention.self.key"
            case TensorName.attnV(i): rest = "attention.self.value"
            case TensorName.attnOut(i): rest = "attention.output.dense"
            case TensorName.attnNorm(i): rest = "attention.output.LayerNorm"
            case TensorName.ffnUp(i): rest = "intermediate.dense"
            case TensorName.ffnDown(i): rest = "output.dense"
            case TensorName.ffnNorm(i): rest = "output.LayerNorm"
            default: return nil
            }
            hf = "encoder.layer.\(i).\(rest)"
        }
        // LayerNorms are saved as weight/bias, never as the TF-era gamma/beta the reader also accepts.
        return trunkPrefixes[0] + hf + suffix
    }

    static func isIgnored(_ name: String) -> Bool {
        var n = name
        for p in trunkPrefixes where n.hasPrefix(p) { n.removeFirst(p.count) }
        return ignored.contains(n)
    }
}
