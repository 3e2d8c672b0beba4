import CECore
import CEFormats
import CEGraph
import CEImport
import CEQuant
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The cetool artifact (formats/artifact.md): a folder with `cetool-model.safetensors` (canonical
/// tensor names, 64-byte aligned, int8/fp16/bf16/fp32 weights, metadata), the source's config and
/// tokenizer files copied byte for byte, and `cetool.json`, a manifest of every file's size and sha256.
public enum Artifact {
    public static let weightsFile = ArtifactFormat.weightsFile
    public static let manifestFile = ArtifactFormat.manifestFile
    public static let formatVersion = ArtifactFormat.version

    /// What `write` produced.
    public struct Summary: Sendable {
        public var directory: URL
        public var files: [ArtifactFormat.ManifestEntry]
        public var weightsBytes: Int
        public var sourceWeightsBytes: Int
    }

    /// The provenance of a model directory: every file the import read, with size and sha256, in name order.
    public static func sourceFiles(of model: ImportedModel) throws -> [ArtifactFormat.ManifestEntry] {
        var paths = model.weightFiles
        for name in ArtifactFormat.copiedFiles {
            let p = model.directory.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: p) { paths.append(p) }
        }
        let base = model.directory.standardizedFileURL.path
        return try Set(paths).sorted().map { p in
            let m = try MappedFile(path: p)
            var rel = URL(fileURLWithPath: p).standardizedFileURL.path
            if rel.hasPrefix(base + "/") { rel.removeFirst(base.count + 1) }
            return ArtifactFormat.ManifestEntry(path: rel, size: m.count, sha256: SHA256.hex(of: m))
        }
    }

    /// Writes `graph` (the model's graph, possibly quantized at `precision` under `plan`) as an
    /// artifact folder at `target`, all or nothing. `extraFiles` (e.g. the model card) are written
    /// beside the copied files and listed in the manifest. An existing target is replaced only with `force`, never
    /// when it is or contains the source folder or the current folder, and when cetool did not write it only with
    /// `replaceForeign` too (ReplacePolicy).
    public static func write(model: ImportedModel, graph: Graph, precision: Quantize.Precision, plan: Quantize.Plan,
                             calibration: JSONValue? = nil, to target: URL, force: Bool, replaceForeign: Bool = false,
                             extraFiles: [(name: String, bytes: [UInt8])] = []) throws -> Summary {
        try graph.validate()
        let staged = try StagedOutput(target: target, kind: .directory,
                                      policy: ReplacePolicy(force: force, protecting: [model.directory], foreign: replaceForeign))
        let provenance = try sourceFiles(of: model)
        var files = RecordedFiles(staged)

        // Tensors in canonical order: the order TensorName.required lists them, scales after their weight.
        var tensors: [(String, Tensor)] = []
        for (name, _) in TensorName.required(graph.architecture, graph.hyperparameters) {
            guard let t = graph.weights[name] else { throw GraphError.missingWeight(name: name) }
            tensors.append((name, t))
            for companion in [TensorName.scale(of: name), TensorName.smooth(of: name)] {
                if let t = graph.weights[companion] { tensors.append((companion, t)) }
            }
        }
        let metadata = ArtifactFormat.Metadata(
            architecture: graph.architecture, hyperparameters: graph.hyperparameters, labels: graph.labels,
            precision: precision.rawValue,
            plan: planJSON(plan, precision: precision, calibration: calibration, weightGroupSize: graph.weightGroupSize),
            activation: model.scorePolicy.activation, activationSource: model.scorePolicy.source,
            maxLength: model.defaultMaxLength,
            provenance: .object([
                ("checkpoint_format", .string(model.checkpointFormat.rawValue)),
                ("source_files", .array(provenance.map(\.json))),
            ]))
        let weights = try files.add(weightsFile) {
            try Safetensors.write(tensors, metadata: metadata.pairs(), alignment: 64, padTensors: true, to: $0)
        }
        for name in ArtifactFormat.copiedFiles { try files.copyIfPresent(name, from: model.directory) }
        for (name, bytes) in extraFiles {
            guard name != manifestFile, !files.contains(name) else { throw StagingError.invalidRelativePath(name) }
            try files.add(name, bytes)
        }
        try files.writeManifest(precision: precision.rawValue)
        try staged.commit()
        let sourceWeights = provenance.filter { p in model.weightFiles.contains { $0.hasSuffix("/" + p.path) || $0 == p.path } }.reduce(0) { $0 + $1.size }
        return Summary(directory: target, files: files.sorted, weightsBytes: weights.size, sourceWeightsBytes: sourceWeights)
    }

    /// The plan as written into the metadata: what is stored at `precision`, what stays fp32. `weightGroupSize`
    /// (the graph's: grouped int8 linears and token embedding, formats/quantization.md) is written as `weight_group_size` when it is
    /// not 0; the runtime reads it back.
    public static func planJSON(_ plan: Quantize.Plan, precision: Quantize.Precision, calibration: JSONValue? = nil,
                                weightGroupSize: Int = 0) -> JSONValue {
        let grouped = precision == .int8 && weightGroupSize > 0
        let kept: [String] = (plan.attention ? [] : ["attention"]) + (plan.ffnUp ? [] : ["ffn_up"])
            + (plan.ffnDown ? [] : ["ffn_down"]) + (plan.tokenEmbedding ? [] : ["token_embedding"])
        let fp32: [String] = ["position_embedding", "type_embedding", "layer_norms", "biases", "pooler", "classifier"] + kept
        let int8Weights = grouped
            ? "symmetric per output channel and group of \(weightGroupSize) input positions, the token embedding per row and group of \(weightGroupSize) columns (per row where a tensor has no more), round half to even, [-127, 127]"
            : "symmetric per output channel (per row for the token embedding), round half to even, [-127, 127]"
        let int8Rule = "symmetric per row to int8, dynamic at run time"
        let int8GroupedRule = "symmetric per row and weight group (weight_group_size inputs) to int8, dynamic at run time"
        let int16Rule = grouped
            ? "symmetric per row to int16 (|a| <= floor((2^31-1)/(127*k)), at most 32767, k = min(in-features, weight_group_size) rounded up to even), dynamic at run time"
            : "symmetric per row to int16 (|a| <= floor((2^31-1)/(127*k)), at most 32767), dynamic at run time"
        // `auto`, chosen: per_linear (formats/artifact.md); with no int8 linear to choose for, int16.
        let perLinear = plan.activations == .auto && !plan.linearActivations.isEmpty
        let activations = perLinear ? "per_linear" : plan.activations == .auto ? "int16" : plan.activations.rawValue
        let int8Activations: String
        switch activations {
        case "int8": int8Activations = int8Rule
        case "int8_grouped": int8Activations = int8GroupedRule
        case "per_linear": int8Activations = "per linear (linear_activations): int8 \(int8Rule); int8_grouped \(int8GroupedRule); int16 \(int16Rule)"
        case "fp32": int8Activations = "none: int8 weights widened to fp32 at load"
        default: int8Activations = int16Rule
        }
        var fields: [(String, JSONValue)] = [
            ("weights", .string(precision.rawValue)),
            ("attention", .bool(plan.attention)), ("ffn_up", .bool(plan.ffnUp)), ("ffn_down", .bool(plan.ffnDown)),
            ("token_embedding", .bool(plan.tokenEmbedding)),
            ("fp32", .array(fp32.map { .string($0) })),
            ("int8_weights", .string(int8Weights)),
        ]
        if grouped { fields.append(("weight_group_size", .int(Int64(weightGroupSize)))) }
        fields.append(("activations", .string(activations)))
        if perLinear { fields.append(("linear_activations", .object(plan.linearActivations.map { ($0.linear, .string($0.activations.rawValue)) }))) }
        fields += [("int8_activations", .string(int8Activations)), ("smoothing", calibration ?? .null)]
        return .object(fields)
    }
}
