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

public enum SavePretrainedError: Error, Equatable, CustomStringConvertible {
    case noHuggingFaceName(canonical: String)
    case invalidSourceFile(name: String, reason: String)
    case artifactManifest(String)

    public var description: String {
        switch self {
        case .noHuggingFaceName(let c):
            return "tensor \(c) has no HuggingFace counterpart (int8 weights have no HuggingFace format; save them as a cetool artifact)"
        case .invalidSourceFile(let n, let r): return "source file \(n): \(r)"
        case .artifactManifest(let r): return "the source artifact does not match its manifest: \(r)"
        }
    }
}

/// `save` / `save_pretrained` (aliases, as in sentence-transformers): a model as a HuggingFace model
/// directory that sentence-transformers' CrossEncoder and transformers load (formats/save-pretrained.md):
///
/// - `config.json`: the source's, with `dtype` / `torch_dtype` set to the weights' precision and the
///   `sentence_transformers` block carrying the score activation; indented and key-sorted as transformers writes it;
/// - `config_sentence_transformers.json`, `modules.json`, `sentence_bert_config.json`: the
///   sentence-transformers 6.2 CrossEncoder layout (one Transformer module at the root);
/// - `model.safetensors`: HF tensor names, each tensor in the dtype the graph holds (fp16/bf16 graphs:
///   F16/BF16 linears, F32 for what the plan keeps in fp32), `{"format": "pt"}` metadata, ordered as
///   the safetensors reference writer orders them;
/// - the tokenizer files copied byte for byte (`special_tokens_map.json` derived from
///   tokenizer_config.json when the source has none);
/// - `README.md`, the model card (ModelCard).
///
/// int8 graphs have no HuggingFace form: they are written as a cetool artifact (formats/artifact.md)
/// with the same card. A model that was loaded from an artifact and is saved as an artifact again is
/// copied file by file (each checked against its manifest), so its bytes and provenance stay.
public enum SavePretrained {
    public static let weightsFile = "model.safetensors"
    public static let cardFile = "README.md"
    public static let plotFile = "verify.svg"

    /// Files taken byte for byte from the source folder when present (tokenizer state).
    public static let tokenizerFiles = [
        "added_tokens.json", "merges.txt", "sentencepiece.bpe.model", "special_tokens_map.json", "spiece.model", "spm.model",
        "tokenizer.json", "tokenizer_config.json", "vocab.json", "vocab.txt",
    ]

    public enum Layout: String, Sendable {
        /// A HuggingFace / sentence-transformers model directory.
        case huggingFace = "huggingface"
        /// A cetool artifact (int8).
        case artifact = "cetool-artifact"
    }

    public struct Summary: Sendable {
        public var directory: URL
        public var layout: Layout
        public var precision: Quantize.Precision
        public var files: [ArtifactFormat.ManifestEntry]
        public var weightsBytes: Int
    }

    /// The precision a graph's weights are stored at (the first reduced dtype among the planned tensors)
    /// and the plan that says which of them are.
    public static func storage(of graph: Graph) -> (Quantize.Precision, Quantize.Plan) {
        let h = graph.hyperparameters
        func dtype(_ name: String) -> DType { graph.weights[name]?.dtype ?? .f32 }
        let groups: [(WritableKeyPath<Quantize.Plan, Bool>, [Layer])] = [
            (\.attention, (0..<h.numHiddenLayers).flatMap { TensorName.attentionInputs(graph.architecture, $0) + [TensorName.attnOut($0)] }),
            (\.ffnUp, (0..<h.numHiddenLayers).flatMap { TensorName.ffnInputs(graph.architecture, $0) }),
            (\.ffnDown, (0..<h.numHiddenLayers).map { TensorName.ffnDown($0) }),
            (\.tokenEmbedding, [TensorName.tokenEmbedding]),
        ]
        var plan = Quantize.Plan(attention: false, ffnUp: false, ffnDown: false, tokenEmbedding: false)
        var precision = Quantize.Precision.fp32
        for (key, names) in groups {
            let reduced = names.map { dtype($0.weight) }.filter { $0 != .f32 }
            guard let first = reduced.first else { continue }
            plan[keyPath: key] = true
            if precision == .fp32 {
                switch first {
                case .i8: precision = .int8
                case .f16: precision = .fp16
                case .bf16: precision = .bf16
                default: break
                }
            }
        }
        if precision == .int8 { plan.weightGroupSize = graph.weightGroupSize }
        return (precision, plan)
    }

    /// Writes `model` (its `graph`, possibly quantized in memory) to `target`, all or nothing; an
    /// existing target is replaced only with `force`.
    @discardableResult
    public static func write(_ model: ImportedModel, to target: URL, force: Bool = false, replaceForeign: Bool = false,
                             card: ModelCard.Info = .init()) throws -> Summary {
        try model.graph.validate()
        let (precision, plan) = storage(of: model.graph)
        let policy = ReplacePolicy(force: force, protecting: [model.directory], foreign: replaceForeign)
        if precision == .int8 { return try writeArtifact(model, precision: precision, plan: plan, to: target, policy: policy, card: card) }

        let staged = try StagedOutput(target: target, kind: .directory, policy: policy)
        var files = RecordedFiles(staged)
        func add(_ name: String, _ bytes: [UInt8]) throws { try files.add(name, bytes) }

        // Weights under HF names.
        var tensors: [(String, Tensor)] = []
        for (name, _) in TensorName.required(model.graph.architecture, model.graph.hyperparameters) {
            guard let t = model.graph.weights[name] else { throw GraphError.missingWeight(name: name) }
            guard let hf = ModelDirectory.huggingFaceName(forCanonical: name, architecture: model.graph.architecture) else {
                throw SavePretrainedError.noHuggingFaceName(canonical: name)
            }
            tensors.append((hf, t))
        }
        // The safetensors reference writer's order: larger dtypes first (F32, BF16, F16), then by name.
        func rank(_ d: DType) -> Int { d == .f32 ? 0 : d == .bf16 ? 1 : 2 }
        tensors.sort { a, b in
            rank(a.1.dtype) != rank(b.1.dtype) ? rank(a.1.dtype) < rank(b.1.dtype) : a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
        }
        let weights = try files.add(weightsFile) { try Safetensors.write(tensors, metadata: [("format", "pt")], alignment: 8, to: $0) }

        // A bi-encoder keeps its SentenceTransformer configs and module folders; a cross-encoder gets the CrossEncoder layout.
        if ModelCard.sentenceTransformer(model) != nil {
            for (name, bytes) in try biEncoderFolderFiles(model, precision: precision) { try add(name, bytes) }
        } else {
            // Configs.
            let activationPath = activationPath(model.scorePolicy.activation)
            try add("config.json", Array((JSONWriter.pretty(try configJSON(model, precision: precision, activationPath: activationPath),
                                                              sortKeys: true) + "\n").utf8))
            let stSource = try sourceJSON(model, "config_sentence_transformers.json")
            try add("config_sentence_transformers.json",
                    Array((JSONWriter.pretty(sentenceTransformersConfig(stSource, activationPath: activationPath), sortKeys: true) + "\n").utf8))
            try add("modules.json", Array((JSONWriter.pretty(modulesJSON) + "\n").utf8))
            try add("sentence_bert_config.json", Array((JSONWriter.pretty(sentenceBertConfig(model), indent: 4) + "\n").utf8))

            // Tokenizer.
            for name in tokenizerFiles { try files.copyIfPresent(name, from: model.directory) }
            if !files.contains("special_tokens_map.json"), let map = try specialTokensMap(model) {
                try add("special_tokens_map.json", Array((JSONWriter.pretty(map) + "\n").utf8))
            }
        }

        // Card (and the verify plot it shows).
        var info = card
        if let plot = card.plot {
            try add(plotFile, plot)
            info.plotFile = plotFile
        }
        let text = try ModelCard.render(model: model, precision: precision, plan: precision == .fp32 ? nil : Artifact.planJSON(plan, precision: precision),
                                        layout: .huggingFace, files: files.sorted, weightsBytes: weights.size, info: info)
        try add(cardFile, Array(text.utf8))
        try staged.commit()
        return Summary(directory: target, layout: .huggingFace, precision: precision, files: files.sorted, weightsBytes: weights.size)
    }

    /// int8: a cetool artifact with the card. An artifact source is copied file by file.
    static func writeArtifact(_ model: ImportedModel, precision: Quantize.Precision, plan: Quantize.Plan, to target: URL, policy: ReplacePolicy,
                              card: ModelCard.Info) throws -> Summary {
        var info = card
        var extra: [(name: String, bytes: [UInt8])] = []
        if let plot = card.plot {
            extra.append((plotFile, plot))
            info.plotFile = plotFile
        }
        guard model.artifact != nil else {
            let planJSON = Artifact.planJSON(plan, precision: precision, weightGroupSize: model.graph.weightGroupSize)
            let text = try ModelCard.render(model: model, precision: precision, plan: planJSON, layout: .artifact, files: [], weightsBytes: nil, info: info)
            extra.append((cardFile, Array(text.utf8)))
            let s = try Artifact.write(model: model, graph: model.graph, precision: precision, plan: plan, to: target, force: policy.force,
                                       replaceForeign: policy.foreign, extraFiles: extra)
            return Summary(directory: target, layout: .artifact, precision: precision, files: s.files, weightsBytes: s.weightsBytes)
        }
        // Copy the artifact's own files (as its manifest lists them, each checked while copied), then the card.
        let manifestPath = model.directory.appendingPathComponent(ArtifactFormat.manifestFile).path
        let listed: [ArtifactFormat.ManifestEntry]
        do {
            let manifest = try MappedFile(path: manifestPath)
            listed = try withExtendedLifetime(manifest) { try ArtifactFormat.readManifest(manifest.bytes, path: manifestPath) }
        } catch {
            throw SavePretrainedError.artifactManifest("\(ArtifactFormat.manifestFile) is missing or unreadable: \(error)")
        }
        let staged = try StagedOutput(target: target, kind: .directory, policy: policy)
        var files = RecordedFiles(staged)
        var weightsBytes = 0
        let replaced = Set(extra.map(\.name) + [cardFile])
        for f in listed where !replaced.contains(f.path) {
            let m = try MappedFile(path: model.directory.appendingPathComponent(f.path).path)
            guard m.count == f.size else { throw SavePretrainedError.artifactManifest("\(f.path): size \(m.count), manifest says \(f.size)") }
            let got = try files.add(f.path) { try $0.write(m.bytes) }
            guard got.sha256 == f.sha256 else { throw SavePretrainedError.artifactManifest("\(f.path): sha256 differs from the manifest") }
            if f.path == ArtifactFormat.weightsFile { weightsBytes = f.size }
        }
        let planJSON = model.artifact?.plan ?? Artifact.planJSON(plan, precision: precision)
        let text = try ModelCard.render(model: model, precision: precision, plan: planJSON, layout: .artifact, files: files.sorted,
                                        weightsBytes: weightsBytes, info: info)
        extra.append((cardFile, Array(text.utf8)))
        for (name, bytes) in extra { try files.add(name, bytes) }
        try files.writeManifest(precision: precision.rawValue)
        try staged.commit()
        return Summary(directory: target, layout: .artifact, precision: precision, files: files.sorted, weightsBytes: weightsBytes)
    }

    // MARK: - Config files

    /// sentence-transformers' activation path for a score activation (what it saves and imports).
    public static func activationPath(_ a: ScoreActivation) -> String {
        switch a {
        case .identity: return "torch.nn.modules.linear.Identity"
        case .sigmoid: return "torch.nn.modules.activation.Sigmoid"
        case .tanh: return "torch.nn.modules.activation.Tanh"
        case .softmax: return "torch.nn.modules.activation.Softmax"
        }
    }

    /// transformers' name of the storage dtype (config.json `dtype`, `torch_dtype` before transformers 4.56).
    public static func torchDType(_ p: Quantize.Precision) -> String {
        switch p {
        case .fp32, .int8: return "float32"
        case .fp16: return "float16"
        case .bf16: return "bfloat16"
        }
    }

    static func sourceJSON(_ model: ImportedModel, _ name: String) throws -> JSONValue? {
        do {
            return try JSONFile.loadIfPresent(path: model.directory.appendingPathComponent(name).path)
        } catch {
            throw SavePretrainedError.invalidSourceFile(name: name, reason: "\(error)")
        }
    }

    /// The source's config.json with the precision and the activation block set. transformers 5 reads
    /// and writes `dtype`, older versions `torch_dtype`; both are written (transformers 5 drops the old key).
    static func configJSON(_ model: ImportedModel, precision: Quantize.Precision, activationPath: String) throws -> JSONValue {
        guard case .object(var members) = model.config.raw else {
            throw SavePretrainedError.invalidSourceFile(name: "config.json", reason: "not a JSON object")
        }
        func set(_ key: String, _ value: JSONValue) {
            if let i = members.firstIndex(where: { $0.0 == key }) { members[i].1 = value } else { members.append((key, value)) }
        }
        set("dtype", .string(torchDType(precision)))
        set("torch_dtype", .string(torchDType(precision)))
        var block: [(String, JSONValue)] = [("activation_fn", .string(activationPath))]
        if let old = model.config.raw["sentence_transformers"]?.objectValue {
            for (k, v) in old where k != "activation_fn" { block.append((k, v)) }
        }
        set("sentence_transformers", .object(block))
        return .object(members)
    }

    /// config_sentence_transformers.json: the source's members kept, the CrossEncoder type and activation set.
    /// `__version__` is the source's, else the sentence-transformers version whose layout these files follow.
    static func sentenceTransformersConfig(_ source: JSONValue?, activationPath: String) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("__version__", .object([("sentence_transformers", .string(layoutVersion))])),
            ("default_prompt_name", .null), ("prompts", .object([])),
        ]
        if let old = source?.objectValue {
            for (k, v) in old {
                if let i = members.firstIndex(where: { $0.0 == k }) { members[i].1 = v } else { members.append((k, v)) }
            }
        }
        members.removeAll { $0.0 == "activation_fn" || $0.0 == "model_type" }
        members.append(("activation_fn", .string(activationPath)))
        members.append(("model_type", .string("CrossEncoder")))
        return .object(members)
    }

    /// The sentence-transformers version whose CrossEncoder folder layout is written.
    public static let layoutVersion = "6.2.0"

    static let modulesJSON: JSONValue = .array([.object([
        ("idx", .int(0)), ("name", .string("0")), ("path", .string("")),
        ("type", .string("sentence_transformers.base.modules.transformer.Transformer")),
    ])])

    /// sentence_bert_config.json as sentence-transformers 6.2 writes it for a sequence-classification
    /// Transformer, plus `max_seq_length` when the model's limit differs from what the tokenizer alone gives.
    static func sentenceBertConfig(_ model: ImportedModel) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("transformer_task", .string("sequence-classification")),
            ("modality_config", .object([("text", .object([("method", .string("forward")), ("method_output_name", .string("logits"))]))])),
            ("module_output_name", .string("scores")),
        ]
        let fromTokenizer = min(model.tokenizer.modelMaxLength ?? Int.max, model.graph.hyperparameters.maxPositionEmbeddings)
        if model.defaultMaxLength != fromTokenizer { members.insert(("max_seq_length", .int(Int64(model.defaultMaxLength))), at: 0) }
        return .object(members)
    }

    /// special_tokens_map.json from tokenizer_config.json's special tokens (transformers 4 wrote both;
    /// transformers 5 writes only the config). Nil when the config names none.
    static func specialTokensMap(_ model: ImportedModel) throws -> JSONValue? {
        guard let config = try sourceJSON(model, "tokenizer_config.json") else { return nil }
        var members: [(String, JSONValue)] = []
        for key in ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] {
            guard let v = config[key] else { continue }
            if let s = v.stringValue {
                members.append((key, .string(s)))
            } else if let content = v["content"]?.stringValue {
                members.append((key, .string(content)))
            }
        }
        return members.isEmpty ? nil : .object(members)
    }
}

extension ImportedModel {
    /// sentence-transformers' `save_pretrained`: this model (its `graph`, possibly quantized) as a
    /// HuggingFace model directory, or as a cetool artifact when int8 (see `SavePretrained`).
    /// `CrossEncoder` users call `crossEncoder.model.savePretrained(to:)`: the runtime does not depend
    /// on the writers.
    @discardableResult
    public func savePretrained(to directory: URL, force: Bool = false, replaceForeign: Bool = false,
                               card: ModelCard.Info = .init()) throws -> SavePretrained.Summary {
        try SavePretrained.write(self, to: directory, force: force, replaceForeign: replaceForeign, card: card)
    }

    /// sentence-transformers' `save`: the same as `savePretrained`.
    @discardableResult
    public func save(to directory: URL, force: Bool = false, replaceForeign: Bool = false,
                     card: ModelCard.Info = .init()) throws -> SavePretrained.Summary {
        try savePretrained(to: directory, force: force, replaceForeign: replaceForeign, card: card)
    }
}
