import CEArtifact
import CECore
import CEGraph
import CEImport
import CEQuant
import Foundation

/// What `cetool export-onnx` refuses, each with what it saw.
public enum OnnxExportError: Error, Equatable, CustomStringConvertible {
    /// A tensor whose dtype the export does not write (int8 weights of a kind ONNX cannot hold, say).
    case unsupportedTensor(name: String, dtype: String)
    /// The requested precision cannot be made from the model's (widening, or int8 from a model without scales).
    case unsupportedPrecision(requested: String, model: String, reason: String)
    /// An architecture the export has no emitters for (a decoder without a score head).
    case unsupportedArchitecture(name: String)
    /// int8 scales ONNX cannot hold (MatMulNBits' blocks: a power of two within 16…256 inside one scale group).
    case unsupportedQuantization(name: String, reason: String)
    /// A bare encoder (no classification head) that is not a SentenceTransformer folder (no usable modules.json).
    case notASentenceTransformer(path: String, reason: String)

    public var description: String {
        switch self {
        case .unsupportedTensor(let n, let d): return "tensor \(n) has dtype \(d), which the ONNX export does not hold"
        case .unsupportedPrecision(let r, let m, let why): return "cannot export \(r) from a \(m) model: \(why)"
        case .unsupportedArchitecture(let n): return "the ONNX export does not cover \(n) (cetool runs it; export-onnx does not write it yet)"
        case .unsupportedQuantization(let n, let why): return "\(n): \(why), which the ONNX export does not hold"
        case .notASentenceTransformer(let p, let why):
            return "\(p) is an encoder without a classification head but not a SentenceTransformer folder (\(why)): export a cross-encoder, or a bi-encoder with its modules.json"
        }
    }
}

/// `cetool export-onnx`: a sentence-transformers CrossEncoder folder whose weights are `onnx/model.onnx`
/// (formats/onnx.md) — the config and tokenizer files save-pretrained writes, the ONNX model, a card.
public enum OnnxExport {
    public static let modelFile = "onnx/model.onnx"
    public static let cardFile = "README.md"

    public struct Summary: Sendable {
        public var directory: URL
        public var precision: Quantize.Precision
        public var files: [ArtifactFormat.ManifestEntry]
        public var modelBytes: Int
    }

    /// The ONNX model bytes of `model`'s graph (deterministic: the same graph gives the same bytes).
    public static func modelBytes(_ model: ImportedModel) throws -> [UInt8] {
        try model.graph.validate()
        let (precision, _) = SavePretrained.storage(of: model.graph)
        let meta: [(String, String)] = [
            ("cetool.architecture", model.graph.architecture.rawValue),
            ("cetool.precision", precision.rawValue),
            ("cetool.activation", model.scorePolicy.activation.rawValue),
        ].filter { !model.graph.isEncoderOnly || $0.0 != "cetool.activation" }
        return OnnxProto.encode(try OnnxGraphExport.model(model.graph, producerVersion: producerVersion, metadata: meta))
    }

    /// The version written as ModelProto.producer_version.
    public static let producerVersion = "0.1.0"

    /// Writes the folder to `target`, all or nothing; an existing target is replaced only as `policy` allows.
    @discardableResult
    public static func write(_ model: ImportedModel, to target: URL, policy: ReplacePolicy) throws -> Summary {
        let (precision, _) = SavePretrained.storage(of: model.graph)
        let bi = isBiEncoder(model)
        if model.graph.isEncoderOnly, !bi {
            throw OnnxExportError.notASentenceTransformer(path: model.directory.path, reason: "no modules.json")
        }
        let onnx = try modelBytes(model)
        var policy = policy
        policy.protected.append(model.directory)
        let staged = try StagedOutput(target: target, kind: .directory, policy: policy)
        var files = RecordedFiles(staged)
        let folder = bi ? try biEncoderFolderFiles(model, precision: precision) : try SavePretrained.folderFiles(model, precision: precision)
        for (name, bytes) in folder { try files.add(name, bytes) }
        try files.add(modelFile, onnx)
        let text = bi ? try biEncoderCard(model, precision: precision, name: target.lastPathComponent, files: files.sorted)
                      : try card(model, precision: precision, name: target.lastPathComponent, files: files.sorted)
        try files.add(cardFile, Array(text.utf8))
        try staged.commit()
        return Summary(directory: target, precision: precision, files: files.sorted, modelBytes: onnx.count)
    }

    /// The model card: front matter tagged `cetool` (so `--force` may replace the folder later), what was exported,
    /// how to load it, the files with their sha256. No time stamps or local paths.
    static func card(_ model: ImportedModel, precision: Quantize.Precision, name: String,
                     files: [ArtifactFormat.ManifestEntry]) throws -> String {
        let g = model.graph, h = g.hyperparameters
        let inputs = ["input_ids", "attention_mask"] + (OnnxGraphExport.readsTokenTypeIDs(g) ? ["token_type_ids"] : [])
        var s = """
        ---
        library_name: sentence-transformers
        pipeline_tag: text-ranking
        tags:
        - sentence-transformers
        - cross-encoder
        - reranker
        - onnx
        - cetool
        - \(precision.rawValue)
        ---

        # \(name)

        A \(g.architecture.rawValue) cross-encoder exported to ONNX by cetool \(producerVersion) (formats/onnx.md), \
        \(precision.rawValue) weights\(precision == .fp32 ? "" : " computed in fp32").

        | | |
        |---|---|
        | model | `\(modelFile)`, ONNX IR \(OnnxGraphExport.irVersion), opset ai.onnx \(OnnxGraphExport.opset) |
        | inputs | \(inputs.map { "`\($0)`" }.joined(separator: ", ")): int64 [batch_size, sequence_length] |
        | output | `logits`: float [batch_size, \(h.numLabels)] |
        | layers, hidden size | \(h.numHiddenLayers), \(h.hiddenSize) |
        | maximum length | \(model.defaultMaxLength) tokens |
        | score activation | \(model.scorePolicy.activation.rawValue) |
        | source weights sha256 | `\(try model.weightsSHA256())` |

        ```python
        from sentence_transformers import CrossEncoder
        model = CrossEncoder("\(name)", backend="onnx")
        scores = model.predict([("How many people live in Berlin?", "Berlin has 3.5 million inhabitants.")])
        ```

        ## Files

        | file | bytes | sha256 |
        |---|---:|---|

        """
        for f in files { s += "| `\(f.path)` | \(f.size) | `\(f.sha256)` |\n" }
        return s
    }
}
