import CECore
import CEFormats
import CEGraph
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The cetool artifact folder (formats/artifact.md), version 1: names, metadata keys and the reader.
public enum ArtifactFormat {
    public static let version = 1
    /// Canonical tensors, 64-byte aligned, with the metadata below.
    public static let weightsFile = "cetool-model.safetensors"
    /// Manifest: format, version, precision, and every other file's size and sha256.
    public static let manifestFile = "cetool.json"
    /// Files copied byte for byte from the source folder when present (tokenizer and configs).
    public static let copiedFiles = [
        "added_tokens.json", "config.json", "config_sentence_transformers.json", "merges.txt", "modules.json",
        "sentence_bert_config.json", "sentencepiece.bpe.model", "special_tokens_map.json", "spiece.model", "spm.model",
        "tokenizer.json", "tokenizer_config.json", "vocab.json", "vocab.txt",
    ]

    /// Everything the runtime needs besides tensors and tokenizer, as `__metadata__` string pairs.
    public struct Metadata: Sendable {
        public var architecture: Architecture
        public var hyperparameters: Hyperparameters
        public var labels: [String]
        /// fp32 | fp16 | bf16 | int8
        public var precision: String
        public var plan: JSONValue
        public var activation: ScoreActivation
        public var activationSource: String
        public var maxLength: Int
        public var provenance: JSONValue
        /// The plan's `weight_group_size`: input positions per scale of the grouped int8 linears; 0 when absent
        /// (one scale per output row).
        public var weightGroupSize: Int {
            guard let v = plan["weight_group_size"] else { return 0 }
            return v.intValue ?? -1
        }

        public init(architecture: Architecture, hyperparameters: Hyperparameters, labels: [String], precision: String,
                    plan: JSONValue, activation: ScoreActivation, activationSource: String, maxLength: Int, provenance: JSONValue) {
            self.architecture = architecture
            self.hyperparameters = hyperparameters
            self.labels = labels
            self.precision = precision
            self.plan = plan
            self.activation = activation
            self.activationSource = activationSource
            self.maxLength = maxLength
            self.provenance = provenance
        }

        /// Hyperparameters under config.json's names.
        /// `embedding_size` only when it differs from hidden_size (ELECTRA, DeBERTa-v2), `modernbert` / `deberta_v2` (their
        /// options as resolved from config.json) only for ModernBERT / DeBERTa-v2, so other artifacts keep their bytes.
        static func hyperparametersJSON(_ h: Hyperparameters) -> JSONValue {
            var members: [(String, JSONValue)] = [
                ("vocab_size", .int(Int64(h.vocabSize))), ("hidden_size", .int(Int64(h.hiddenSize))),
                ("num_hidden_layers", .int(Int64(h.numHiddenLayers))), ("num_attention_heads", .int(Int64(h.numAttentionHeads))),
                ("intermediate_size", .int(Int64(h.intermediateSize))), ("hidden_act", .string(h.hiddenAct.rawValue)),
                ("max_position_embeddings", .int(Int64(h.maxPositionEmbeddings))), ("type_vocab_size", .int(Int64(h.typeVocabSize))),
                ("layer_norm_eps", .double(Double(h.layerNormEps))), ("pad_token_id", .int(Int64(h.padTokenID))),
                ("num_labels", .int(Int64(h.numLabels))),
            ]
            if h.embeddingSize != h.hiddenSize { members.append(("embedding_size", .int(Int64(h.embeddingSize)))) }
            if let m = h.modernBERT {
                members.append(("modernbert", .object([
                    ("layer_types", .array(m.layerTypes.map { .string($0.rawValue) })),
                    ("local_attention", .int(Int64(m.localAttention))),
                    ("global_rope_theta", .double(m.globalRopeTheta)), ("local_rope_theta", .double(m.localRopeTheta)),
                    ("attention_bias", .bool(m.attentionBias)), ("mlp_bias", .bool(m.mlpBias)), ("norm_bias", .bool(m.normBias)),
                    ("classifier_bias", .bool(m.classifierBias)), ("classifier_pooling", .string(m.classifierPooling.rawValue)),
                    ("classifier_activation", .string(m.classifierActivation.rawValue)),
                ])))
            }
            if let p = h.debertaV2 {
                members.append(("deberta_v2", .object([
                    ("relative_attention", .bool(p.relativeAttention)), ("position_buckets", .int(Int64(p.positionBuckets))),
                    ("max_relative_positions", .int(Int64(p.maxRelativePositions))),
                    ("pos_att_type", .array((p.p2c ? ["p2c"] : []).map { .string($0) } + (p.c2p ? [.string("c2p")] : []))),
                    ("share_att_key", .bool(p.shareAttKey)), ("norm_rel_ebd", .string(p.normRelEmbedding ? "layer_norm" : "none")),
                    ("position_biased_input", .bool(p.positionBiasedInput)), ("token_types", .bool(p.tokenTypes)),
                    ("pooler_hidden_act", .string(p.poolerActivation.rawValue)),
                ])))
            }
            if let m = h.decoder {
                members.append(("decoder", .object([
                    ("family", .string(m.family.rawValue)), ("num_key_value_heads", .int(Int64(m.numKeyValueHeads))),
                    ("head_dim", .int(Int64(m.headDim))), ("rope_theta", .double(m.ropeTheta)), ("qkv_bias", .bool(m.qkvBias)),
                    ("output_bias", .bool(m.outputBias)), ("mlp_bias", .bool(m.mlpBias)),
                    ("pool_pad_token_id", m.poolPadTokenID.map { .int(Int64($0)) } ?? .null),
                ])))
            }
            return .object(members)
        }

        public func pairs() -> [(String, String)] {
            [
                ("format", "cetool"),
                ("cetool.format_version", String(ArtifactFormat.version)),
                ("cetool.architecture", architecture.rawValue),
                ("cetool.hyperparameters", JSONWriter.write(Self.hyperparametersJSON(hyperparameters))),
                ("cetool.labels", JSONWriter.write(.array(labels.map { .string($0) }))),
                ("cetool.precision", precision),
                ("cetool.plan", JSONWriter.write(plan)),
                ("cetool.activation", activation.rawValue),
                ("cetool.activation_source", activationSource),
                ("cetool.max_length", String(maxLength)),
                ("cetool.provenance", JSONWriter.write(provenance)),
            ]
        }

        /// Reads the metadata back; the hyperparameters come from the folder's config.json (validated with
        /// its limits) and must equal those recorded here.
        static func read(_ pairs: [(String, String)], config: ModelConfig, path: String) throws -> Metadata {
            var m: [String: String] = [:]
            for (k, v) in pairs { m[k] = v }
            func need(_ k: String) throws -> String {
                guard let v = m[k] else { throw ArtifactError.missingMetadata(key: k, path: path) }
                return v
            }
            guard m["format"] == "cetool" else { throw ArtifactError.notAnArtifact(path: path) }
            let v = try need("cetool.format_version")
            guard Int(v) == ArtifactFormat.version else { throw ArtifactError.unsupportedVersion(v, path: path) }
            guard let arch = Architecture(rawValue: try need("cetool.architecture")), arch == config.architecture else {
                throw ArtifactError.inconsistent(key: "cetool.architecture", path: path)
            }
            func json(_ k: String) throws -> JSONValue {
                do { return try JSONParser.parse(Array(try need(k).utf8), maxDepth: 16) } catch let e as JSONError {
                    throw ArtifactError.invalidMetadata(key: k, reason: e.description, path: path)
                }
            }
            guard try json("cetool.hyperparameters") == hyperparametersJSON(config.hyperparameters) else {
                throw ArtifactError.inconsistent(key: "cetool.hyperparameters", path: path)
            }
            guard let labels = try json("cetool.labels").arrayValue?.compactMap(\.stringValue), labels == config.labels else {
                throw ArtifactError.inconsistent(key: "cetool.labels", path: path)
            }
            let precision = try need("cetool.precision")
            guard ["fp32", "fp16", "bf16", "int8"].contains(precision) else {
                throw ArtifactError.invalidMetadata(key: "cetool.precision", reason: "\"\(precision)\" is not fp32, fp16, bf16 or int8", path: path)
            }
            guard let act = ScoreActivation(rawValue: try need("cetool.activation")) else {
                throw ArtifactError.invalidMetadata(key: "cetool.activation", reason: "unknown activation", path: path)
            }
            guard let maxLength = Int(try need("cetool.max_length")), maxLength >= 3,
                  maxLength <= config.hyperparameters.maxPositionEmbeddings else {
                throw ArtifactError.invalidMetadata(key: "cetool.max_length", reason: "outside 3...max_position_embeddings", path: path)
            }
            let meta = Metadata(architecture: arch, hyperparameters: config.hyperparameters, labels: labels, precision: precision,
                                plan: try json("cetool.plan"), activation: act, activationSource: try need("cetool.activation_source"),
                                maxLength: maxLength, provenance: try json("cetool.provenance"))
            guard meta.weightGroupSize == 0 || Graph.isValidWeightGroupSize(meta.weightGroupSize) else {
                throw ArtifactError.invalidMetadata(key: "cetool.plan", reason: "weight_group_size must be an even number of input positions, 2...65536", path: path)
            }
            return meta
        }
    }

    /// The manifest text: keys in a fixed order, files sorted by path bytes.
    public static func manifest(precision: String, files: [ManifestEntry]) -> String {
        JSONWriter.write(.object([
            ("format", .string("cetool-artifact")),
            ("format_version", .int(Int64(version))),
            ("precision", .string(precision)),
            ("weights", .string(weightsFile)),
            ("files", .array(files.map(\.json))),
        ])) + "\n"
    }

    /// Whether `directory` holds an artifact (its weights file is present).
    public static func isArtifact(_ directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(weightsFile).path)
    }

    /// One file a manifest lists.
    /// The record of one written file (path relative to its folder, bytes, lowercase hex sha256): what artifact
    /// and package manifests list, what the model card's Files table and every writer's summary show.
    public struct ManifestEntry: Sendable, Equatable {
        public var path: String
        public var size: Int
        public var sha256: String

        public init(path: String, size: Int, sha256: String) {
            self.path = path
            self.size = size
            self.sha256 = sha256
        }

        /// `{"path": …, "size": …, "sha256": …}`, keys in that order.
        public var json: JSONValue {
            .object([("path", .string(path)), ("size", .int(Int64(size))), ("sha256", .string(sha256))])
        }
    }

    /// Parses manifest bytes (`cetool.json`, named `path` in errors): a JSON file within `JSONFile`'s cap,
    /// format `cetool-artifact` at this version, and a list of files, each a plain name or `folder/name` listed once.
    /// Touches no disk; `checkManifest` compares the result with a folder.
    /// A plain name, or one module folder and a name in it (a bi-encoder's `1_Pooling/config.json`); never `.`, `..`,
    /// an empty part or a deeper path.
    static func isManifestPath(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count <= 2 && parts.allSatisfy { !$0.isEmpty && $0 != ".." && $0 != "." } && !name.utf8.contains(0)
    }

    public static func readManifest(_ bytes: UnsafeRawBufferPointer, path: String) throws -> [ManifestEntry] {
        let json = try JSONFile.read(bytes, path: path)
        guard json["format"]?.stringValue == "cetool-artifact", json["format_version"]?.intValue == version,
              let files = json["files"]?.arrayValue else {
            throw ArtifactError.invalidManifest(reason: "not a cetool artifact manifest, version \(version)", path: path)
        }
        var listed = Set<String>()
        var entries: [ManifestEntry] = []
        entries.reserveCapacity(files.count)
        for f in files {
            guard let name = f["path"]?.stringValue, let size = f["size"]?.intValue, let digest = f["sha256"]?.stringValue,
                  isManifestPath(name), listed.insert(name).inserted else {
                throw ArtifactError.invalidManifest(reason: "a file entry is malformed or repeated", path: path)
            }
            entries.append(ManifestEntry(path: name, size: size, sha256: digest))
        }
        return entries
    }

    /// Checks every file the manifest lists against its size and sha256, and that nothing else is there.
    /// `load` does not do this (it would cost a full read at every start); `cetool verify` and install do.
    public static func checkManifest(_ directory: URL) throws {
        let path = directory.appendingPathComponent(manifestFile).path
        let manifest: MappedFile
        do { manifest = try MappedFile(path: path) } catch FileError.notFound {
            throw ArtifactError.missingFile(name: manifestFile, directory: directory.path)
        }
        let entries = try readManifest(manifest.bytes, path: path)
        for e in entries {
            let m: MappedFile
            do { m = try MappedFile(path: directory.appendingPathComponent(e.path).path) } catch {
                throw ArtifactError.manifestMismatch(file: e.path, reason: "missing or unreadable")
            }
            guard m.count == e.size else { throw ArtifactError.manifestMismatch(file: e.path, reason: "size \(m.count), manifest says \(e.size)") }
            guard SHA256.hex(of: m) == e.sha256 else { throw ArtifactError.manifestMismatch(file: e.path, reason: "sha256 differs from the manifest") }
        }
        let listed = Set(entries.map(\.path))
        // Files of the folder and of its subfolders (one level: a bi-encoder's module folders).
        var present: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name != manifestFile {
            var isDir: ObjCBool = false
            let sub = directory.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: sub.path, isDirectory: &isDir), isDir.boolValue {
                present += try FileManager.default.contentsOfDirectory(atPath: sub.path).map { name + "/" + $0 }
            } else {
                present.append(name)
            }
        }
        if let extra = present.sorted().first(where: { !listed.contains($0) }) {
            throw ArtifactError.manifestMismatch(file: extra, reason: "not listed in the manifest")
        }
    }

    /// Reads an artifact folder: config.json (validated as for any model), the weights file (canonical
    /// names; `__pad__.` entries skipped), the metadata, and the tokenizer from the copied files.
    static func load(_ directory: URL, config: ModelConfig) throws -> (Graph, Metadata) {
        let path = directory.appendingPathComponent(weightsFile).path
        let file = try Safetensors.File(path: path)
        return try graph(file.header, config: config, path: path) { try file.tensor($0.name) }
    }

    /// Reads a weights file held in `bytes` (kept alive by `owner`; named `path` in errors) as `load`
    /// does: header, metadata against `config`, every tensor a view of `bytes`, the graph validated.
    /// Touches no disk (the fuzz target's entry).
    public static func readWeights(_ bytes: UnsafeRawBufferPointer, owner: AnyObject, config: ModelConfig,
                                   path: String) throws -> (Graph, Metadata) {
        let header: Safetensors.Header
        do { header = try Safetensors.readHeader(bytes) } catch let e as SafetensorsError { throw SafetensorsError.inFile(path: path, e) }
        return try graph(header, config: config, path: path) { Safetensors.view($0, of: header, in: bytes, owner: owner) }
    }

    /// The metadata and the validated graph of a weights file whose header is `header`.
    static func graph(_ header: Safetensors.Header, config: ModelConfig, path: String,
                      tensor: (Safetensors.Entry) throws -> Tensor) throws -> (Graph, Metadata) {
        let meta = try Metadata.read(header.metadata, config: config, path: path)
        var weights: [String: Tensor] = [:]
        for e in header.entries where !e.name.hasPrefix(Safetensors.paddingPrefix) {
            weights[e.name] = try tensor(e)
        }
        let graph = Graph(architecture: meta.architecture, hyperparameters: meta.hyperparameters, weights: weights, labels: meta.labels,
                          weightGroupSize: meta.weightGroupSize)
        try graph.validate()
        return (graph, meta)
    }
}

public enum ArtifactError: Error, Equatable, CustomStringConvertible {
    case notAnArtifact(path: String)
    case unsupportedVersion(String, path: String)
    case missingMetadata(key: String, path: String)
    case invalidMetadata(key: String, reason: String, path: String)
    case inconsistent(key: String, path: String)
    case missingFile(name: String, directory: String)
    case invalidManifest(reason: String, path: String)
    case manifestMismatch(file: String, reason: String)

    public var description: String {
        switch self {
        case .notAnArtifact(let p): return "\(p) is not a cetool artifact (metadata format != \"cetool\")"
        case .unsupportedVersion(let v, let p): return "\(p): artifact format version \(v) is not supported (this cetool reads \(ArtifactFormat.version))"
        case .missingMetadata(let k, let p): return "\(p): artifact metadata lacks \(k)"
        case .invalidMetadata(let k, let r, let p): return "\(p): artifact metadata \(k): \(r)"
        case .inconsistent(let k, let p): return "\(p): artifact metadata \(k) disagrees with config.json"
        case .missingFile(let n, let d): return "\(n) is missing in \(d)"
        case .invalidManifest(let r, let p): return "\(p): \(r)"
        case .manifestMismatch(let f, let r): return "artifact file \(f): \(r)"
        }
    }
}
