import CECore
import CEFormats
import CEGraph
import CETokenizers
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// A HuggingFace model directory read into the canonical graph, its tokenizer and its score policy.
public struct ImportedModel: @unchecked Sendable {
    public var graph: Graph
    public var tokenizer: Tokenizer
    public var scorePolicy: ScorePolicy
    /// The sequence length the reference truncates to when the caller gives none.
    public var defaultMaxLength: Int
    public var config: ModelConfig
    /// Checkpoint file(s) the weights came from.
    public var weightFiles: [String]
    public var checkpointFormat: Checkpoint.Format
    /// The folder the model was read from.
    public var directory: URL
    /// For a cetool artifact: its metadata (precision, plan, provenance).
    public var artifact: ArtifactFormat.Metadata?
}

public enum ModelDirectory {
    /// Longest sequence cetool runs, whatever the model allows (config.json admits up to 65,536 positions):
    /// attention scratch grows with the square of the length, 256 MiB per worker at this limit.
    public static let maxSequenceLength = 8192

    /// Imports `directory`. `maxLength` overrides the model's own limit, as CrossEncoder(max_length:).
    public static func load(_ directory: URL, maxLength: Int? = nil) throws -> ImportedModel {
        try load(directory, maxLength: maxLength, whileTokenizerLoads: nil)
    }

    /// As `load`, running `work` on the validated graph (and the artifact's metadata) on this thread while
    /// the tokenizer is built on another, started before the configuration and weights are read: the
    /// tokenizer and `work` are the bulk of a model's start-up and independent. Errors come in the order
    /// of the one-thread load: the configuration's and weights', then the tokenizer's, then `work`'s.
    public static func load(_ directory: URL, maxLength: Int? = nil,
                            whileTokenizerLoads work: ((Graph, ArtifactFormat.Metadata?) throws -> Void)?) throws -> ImportedModel {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw ImportError.notADirectory(path: directory.path)
        }
        let tokenizerBox = TokenizerBox()
        let tokenizerGroup = DispatchGroup()
        if work != nil {
            DispatchQueue.global().async(group: tokenizerGroup) { tokenizerBox.result = Result { try Tokenizer.load(directory: directory) } }
        }
        // No return or throw leaves the tokenizer's thread still reading files of a model the caller gave up.
        defer { tokenizerGroup.wait() }
        let configPath = directory.appendingPathComponent("config.json").path
        guard let configJSON = try JSONFile.loadIfPresent(path: configPath) else {
            throw ImportError.missingFile(name: "config.json", directory: directory.path)
        }
        let config = try ModelConfig(json: configJSON)
        let stConfig = try JSONFile.loadIfPresent(path: directory.appendingPathComponent("config_sentence_transformers.json").path)
        let sbertConfig = try JSONFile.loadIfPresent(path: directory.appendingPathComponent("sentence_bert_config.json").path)
        var policy = try ScorePolicy.resolve(config: configJSON, sentenceTransformersConfig: stConfig, numLabels: config.hyperparameters.numLabels)

        var graph: Graph
        var artifact: ArtifactFormat.Metadata?
        var weightFiles: [String]
        var format: Checkpoint.Format
        if ArtifactFormat.isArtifact(directory) {
            let (g, meta) = try ArtifactFormat.load(directory, config: config)
            graph = g
            artifact = meta
            policy = ScorePolicy(activation: meta.activation, source: meta.activationSource)
            weightFiles = [directory.appendingPathComponent(ArtifactFormat.weightsFile).path]
            format = .cetoolArtifact
        } else {
            let checkpoint = try Checkpoint.load(directory: directory)
            let weights = try mapWeights(names: checkpoint.names, architecture: config.architecture, hyperparameters: config.hyperparameters, tensor: checkpoint.tensor)
            graph = Graph(architecture: config.architecture, hyperparameters: config.hyperparameters, weights: weights, labels: config.labels)
            try graph.validate()
            weightFiles = checkpoint.files
            format = checkpoint.format
        }

        PhaseTrace.mark("weights mapped")
        let tokenizer: Tokenizer
        if let work {
            let workResult = Result { try work(graph, artifact) }
            tokenizerGroup.wait()
            tokenizer = try tokenizerBox.result!.get()
            try workResult.get()
        } else {
            tokenizer = try Tokenizer.load(directory: directory)
        }
        PhaseTrace.mark("tokenizer loaded")
        // Positions the table admits: max_position_embeddings, less RoBERTa's offset (pad_token_id + 1).
        let positionLimit = graph.maxSequenceLength
        let resolved: Int
        if let maxLength {
            resolved = maxLength
        } else if let artifact {
            resolved = artifact.maxLength
        } else if let m = sbertConfig?["max_seq_length"]?.intValue {
            resolved = m
        } else {
            // sentence-transformers caps the tokenizer's model_max_length at max_position_embeddings.
            resolved = min(tokenizer.modelMaxLength ?? Int.max, positionLimit)
        }
        let limit = min(positionLimit, maxSequenceLength)
        guard resolved >= 3, resolved <= limit else { throw ImportError.invalidMaxLength(resolved, limit: limit) }
        return ImportedModel(graph: graph, tokenizer: tokenizer, scorePolicy: policy, defaultMaxLength: resolved,
                             config: config, weightFiles: weightFiles, checkpointFormat: format, directory: directory, artifact: artifact)
    }

    /// Maps checkpoint tensors to canonical names. Every source tensor is mapped or explicitly ignored;
    /// anything else is an error naming it. Shapes are checked against the hyperparameters.
    public static func mapWeights(names: [String], architecture: Architecture, hyperparameters: Hyperparameters,
                                  tensor: (String) throws -> Tensor) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        var sourceOf: [String: String] = [:]
        let table = HFNames.table(architecture)
        for name in names.sorted() {
            if table.isIgnored(name) { continue }
            guard let c = table.canonical(name) else { throw ImportError.unmappedTensor(name: name) }
            // A bare encoder's pooler (BertModel pooler.dense) is unused: sentence embeddings read the last hidden states.
            if hyperparameters.numLabels == 0, c.hasPrefix("cls.") { continue }
            if let prev = sourceOf[c] { throw ImportError.duplicateTensor(canonical: c, sources: [prev, name]) }
            let t = try tensor(name)
            guard [.f32, .f16, .bf16].contains(t.dtype) else { throw ImportError.unsupportedDType(name: name, dtype: t.dtype) }
            sourceOf[c] = name
            out[c] = t
        }
        // DebertaV2PreTrainedModel._keys_to_ignore_on_load_unexpected: a position table the config does not use is dropped.
        if hyperparameters.debertaV2?.positionBiasedInput == false { out[TensorName.positionEmbedding.weight] = nil }
        for (c, shape) in TensorName.required(architecture, hyperparameters) {
            guard let t = out[c] else {
                throw ImportError.missingTensor(canonical: c, expectedSource: expectedSource(c, architecture))
            }
            guard t.shape == shape else { throw ImportError.shapeMismatch(name: sourceOf[c] ?? c, expected: shape, actual: t.shape) }
        }
        return out
    }

    /// The canonical name a checkpoint tensor maps to; nil when explicitly ignored; throws when unknown.
    public static func canonicalName(for name: String, architecture: Architecture) throws -> String? {
        let table = HFNames.table(architecture)
        if table.isIgnored(name) { return nil }
        guard let c = table.canonical(name) else { throw ImportError.unmappedTensor(name: name) }
        return c
    }

    /// The HF name a canonical tensor is saved under (save_pretrained); nil when it has none (int8 scales).
    /// The reverse of the architecture's table (HFNames).
    public static func huggingFaceName(forCanonical canonical: String, architecture: Architecture) -> String? {
        HFNames.table(architecture).huggingFace(canonical)
    }

    /// The HF name a canonical tensor is read from, for error messages.
    static func expectedSource(_ canonical: String, _ a: Architecture) -> String {
        HFNames.table(a).huggingFace(canonical) ?? canonical
    }
}

/// The tokenizer built on another thread; read only after the group that writes it has been waited for.
private final class TokenizerBox: @unchecked Sendable {
    var result: Result<Tokenizer, Error>?
}
