import CECore
import CEImport
import CEQuant
import CERetrieve
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The card of a bi-encoder (a SentenceTransformer: Transformer, Pooling, then Dense / Normalize modules): what it
/// embeds and how, and how to load it with sentence-transformers' SentenceTransformer and with cetool.
extension ModelCard {
    /// The folder's modules when `model` is a bare encoder with a modules.json beside it, else nil (a cross-encoder).
    static func sentenceTransformer(_ model: ImportedModel) -> SentenceTransformerFolder? {
        guard model.graph.isEncoderOnly else { return nil }
        return try? SentenceTransformerFolder.load(path: model.directory.path)
    }

    static func biEncoderFrontMatter(precision: Quantize.Precision, hf: Bool, baseModel: String?, quantizedFrom: Bool, license: String?) -> String {
        var s = "---\n"
        s += "library_name: \(hf ? "sentence-transformers" : "cetool")\n"
        s += "pipeline_tag: sentence-similarity\n"
        s += "tags:\n"
        for t in ["sentence-transformers", "sentence-similarity", "feature-extraction", "bi-encoder", "cetool", precision.rawValue] { s += "- \(yaml(t))\n" }
        if let baseModel {
            s += "base_model: \(yaml(baseModel))\n"
            if precision != .fp32, quantizedFrom { s += "base_model_relation: quantized\n" }
        }
        if let license { s += "license: \(yaml(license))\n" }
        return s + "---\n\n"
    }

    static func biEncoderSummary(name: String, precision: Quantize.Precision, hf: Bool, folder st: SentenceTransformerFolder) -> String {
        var s = "# \(name)\n\n"
        s += "A bi-encoder (SentenceTransformer): it maps each text to a \(st.outputDimension)-dimensional embedding; texts are "
        s += "compared by the \(st.similarityFunction) similarity of their embeddings (semantic search, retrieval, clustering). "
        if hf {
            s += "A sentence-transformers model folder (modules.json, the Transformer at the root, its Pooling"
            s += st.modules.contains(.normalize) ? " and Normalize" : ""
            s += " modules), \(precision.rawValue) weights, written by `cetool save-pretrained`.\n\n"
        } else {
            s += "A cetool artifact (formats/artifact.md) with \(precision.rawValue) weights and the SentenceTransformer's module folders, "
            s += "written by `cetool save-pretrained`; int8 weights have no HuggingFace form, so it runs with cetool (Swift), not with sentence-transformers.\n\n"
        }
        return s
    }

    static func biEncoderDetails(_ model: ImportedModel, folder st: SentenceTransformerFolder, precision: Quantize.Precision, hf: Bool,
                                 weightsBytes: Int?, baseModel: String?) -> String {
        let h = model.graph.hyperparameters
        var s = "## Model details\n\n| | |\n|---|---|\n"
        s += "| Architecture | \(cell(model.config.architectureName)) (SentenceTransformer) |\n"
        s += "| Layers / hidden / heads / FFN | \(h.numHiddenLayers) / \(h.hiddenSize) / \(h.numAttentionHeads) / \(h.intermediateSize) |\n"
        s += "| Vocabulary | \(h.vocabSize) |\n"
        s += "| Maximum sequence length | \(st.maxSeqLength ?? model.defaultMaxLength) tokens |\n"
        s += "| Modules | \(cell(st.modules.map(moduleName).joined(separator: " → "))) |\n"
        s += "| Embedding dimension | \(st.outputDimension) |\n"
        s += "| Normalized | \(st.modules.last == .normalize ? "yes (unit L2 norm)" : "no") |\n"
        s += "| Similarity function | \(cell(st.similarityFunction)) |\n"
        s += "| Weights | \(precision.rawValue)\(hf ? ", config.json dtype \(SavePretrained.torchDType(precision))" : "") |\n"
        if let weightsBytes { s += "| Weights file | \(megabytes(weightsBytes)) |\n" }
        if let baseModel { s += "| Base model | \(cell(baseModel)) |\n" }
        return s + "\n"
    }

    static func moduleName(_ m: SentenceTransformerFolder.Module) -> String {
        switch m {
        case .transformer: return "Transformer"
        case .pooling(let p): return "Pooling (\(p.modes.map(\.rawValue).joined(separator: " + ")))"
        case .dense(let d): return "Dense (\(d.inFeatures) → \(d.outFeatures), \(d.activation.rawValue.split(separator: ".").last ?? ""))"
        case .normalize: return "Normalize"
        }
    }

    static func biEncoderUsage(name: String, hf: Bool) -> String {
        var s = "## Usage\n\n"
        if hf {
            s += "```python\nfrom sentence_transformers import SentenceTransformer\n\n"
            s += "model = SentenceTransformer(\(JSONWriter.quote(name)))\n"
            s += "embeddings = model.encode([\"How many people live in Berlin?\", \"Berlin has 3.5 million inhabitants.\"])\n"
            s += "print(model.similarity(embeddings[:1], embeddings[1:]))\n```\n\n"
        }
        s += "```\ncetool embed MODEL_DIR --texts texts.txt\n"
        s += "cetool index build MODEL_DIR --corpus corpus.txt --output corpus.ceidx\n"
        s += "cetool search corpus.ceidx --model MODEL_DIR --queries queries.txt --top-k 10\n```\n\n"
        s += "```swift\nlet model = try SentenceTransformer(modelDirectory: URL(fileURLWithPath: \"MODEL_DIR\"))\n"
        s += "let embeddings = try model.encode(texts)\n```\n\n"
        return s
    }

    /// `cetool verify` of a bi-encoder: each reference set's cosine and recall figures.
    static func biEncoderVerification(_ info: Info) -> String {
        var s = "## Verification\n\n"
        guard let summary = info.report?["summary"], case .object = summary else {
            s += "No verification report was given. `cetool verify MODEL --texts texts.txt --original SOURCE --report report.json`, then "
            s += "`cetool save-pretrained MODEL --report report.json` puts the figures here.\n\n"
            return s
        }
        s += verifyTable(summary)
        let sets = info.report?["sets"]?.arrayValue ?? []
        if !sets.isEmpty {
            s += "\n| reference | texts | min cosine | mean cosine | recall@k | passed |\n|---|---:|---:|---:|---:|---|\n"
            for e in sets {
                let f = { (k: String) in e[k]?.doubleValue.map { String(format: "%.6g", $0) } ?? "" }
                s += "| \(cell(e["reference"]?.stringValue ?? "")) | \(e["texts"]?.intValue ?? 0) | \(f("min_cosine")) | \(f("mean_cosine")) | "
                s += "\(f("recall")) (k \(e["k"]?.intValue ?? 0)) | \(e["passed"]?.boolValue == true ? "yes" : "no") |\n"
            }
        }
        return s + "\n"
    }
}
