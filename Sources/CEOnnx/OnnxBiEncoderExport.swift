import CEArtifact
import CECore
import CEFormats
import CEImport
import CEQuant
import Foundation

/// `cetool export-onnx` of a bi-encoder: a sentence-transformers SentenceTransformer folder whose Transformer module
/// is `onnx/model.onnx` (output `last_hidden_state`), the other modules' folders (Pooling, Dense, Normalize) kept as
/// the source has them, so `SentenceTransformer(DIR, backend="onnx")` pools, projects and normalizes as it would the
/// torch model (formats/onnx.md, "Bi-encoders").
extension OnnxExport {
    /// A bare encoder with a modules.json beside it (a SentenceTransformer folder or a bi-encoder artifact).
    public static func isBiEncoder(_ model: ImportedModel) -> Bool {
        model.graph.isEncoderOnly && FileManager.default.fileExists(atPath: model.directory.appendingPathComponent("modules.json").path)
    }

    static func biEncoderFolderFiles(_ model: ImportedModel, precision: Quantize.Precision) throws -> [(path: String, bytes: [UInt8])] {
        do {
            return try SavePretrained.biEncoderFolderFiles(model, precision: precision)
        } catch SavePretrainedError.invalidSourceFile(let name, let reason) {
            throw OnnxExportError.notASentenceTransformer(path: model.directory.path, reason: "\(name): \(reason)")
        }
    }

    /// The card of an exported bi-encoder: what was exported, how sentence-transformers loads it, the files.
    static func biEncoderCard(_ model: ImportedModel, precision: Quantize.Precision, name: String,
                              files: [ArtifactFormat.ManifestEntry]) throws -> String {
        let g = model.graph, h = g.hyperparameters
        let inputs = ["input_ids", "attention_mask"] + (OnnxGraphExport.readsTokenTypeIDs(g) ? ["token_type_ids"] : [])
        let modules = (try? JSONFile.load(path: model.directory.appendingPathComponent("modules.json").path, limit: 1 << 20).arrayValue) ?? []
        let kinds = modules.compactMap { $0["type"]?.stringValue?.split(separator: ".").last.map(String.init) }
        var s = """
        ---
        library_name: sentence-transformers
        pipeline_tag: sentence-similarity
        tags:
        - sentence-transformers
        - sentence-similarity
        - feature-extraction
        - bi-encoder
        - onnx
        - cetool
        - \(precision.rawValue)
        ---

        # \(name)

        A \(g.architecture.rawValue) bi-encoder (SentenceTransformer) whose Transformer module is exported to ONNX by cetool \
        \(producerVersion) (formats/onnx.md), \(precision.rawValue) weights\(precision == .fp32 ? "" : " computed in fp32"); the \
        other modules (\(kinds.dropFirst().joined(separator: ", "))) run in sentence-transformers as in the source.

        | | |
        |---|---|
        | model | `\(modelFile)`, ONNX IR \(OnnxGraphExport.irVersion), opset ai.onnx \(OnnxGraphExport.opset) |
        | inputs | \(inputs.map { "`\($0)`" }.joined(separator: ", ")): int64 [batch_size, sequence_length] |
        | output | `last_hidden_state`: float [batch_size, sequence_length, \(h.hiddenSize)] (the token embeddings) |
        | modules | \(kinds.joined(separator: " → ")) |
        | layers, hidden size | \(h.numHiddenLayers), \(h.hiddenSize) |
        | maximum length | \(model.defaultMaxLength) tokens |
        | source weights sha256 | `\(try model.weightsSHA256())` |

        ```python
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer("\(name)", backend="onnx")
        embeddings = model.encode(["How many people live in Berlin?", "Berlin has 3.5 million inhabitants."])
        ```

        ## Files

        | file | bytes | sha256 |
        |---|---:|---|

        """
        for f in files { s += "| `\(f.path)` | \(f.size) | `\(f.sha256)` |\n" }
        return s
    }
}
