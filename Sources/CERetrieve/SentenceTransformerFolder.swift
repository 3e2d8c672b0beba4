import CECore
import CEFormats
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Errors reading a SentenceTransformer folder; each names the module (modules.json entry or file) at fault.
public enum SentenceTransformerError: Error, Equatable, CustomStringConvertible {
    /// A required file is absent.
    case missingFile(module: String, path: String)
    /// modules.json names a module type cetool does not run.
    case unsupportedModule(module: String, type: String)
    /// A config value is missing, of the wrong kind or out of range.
    case invalidConfig(module: String, key: String, reason: String)
    /// Modules in an order or combination the pipeline cannot run.
    case invalidPipeline(reason: String)
    /// Dense weights missing, extra, or of the wrong shape.
    case invalidWeights(module: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let m, let p): return "\(m): missing file \(p)"
        case .unsupportedModule(let m, let t): return "module \(m): unsupported module type \(t) (cetool runs Transformer, Pooling, Dense, Normalize)"
        case .invalidConfig(let m, let k, let r): return "\(m): \(k): \(r)"
        case .invalidPipeline(let r): return "modules.json: \(r)"
        case .invalidWeights(let m, let r): return "\(m): \(r)"
        }
    }
}

/// A SentenceTransformer folder's modules after the Transformer, parsed and validated into plain values
/// (sentence-transformers 6.2 and the legacy `sentence_transformers.models.*` layout). The Transformer's weights
/// are the runtime's business: only its folder is recorded here.
public struct SentenceTransformerFolder: Sendable {
    public enum Module: Equatable, Sendable {
        /// The encoder, its files in `path` (relative to the folder; "" = the folder itself).
        case transformer(path: String)
        case pooling(PoolingConfig)
        case dense(DenseLayer)
        case normalize
    }

    public var modules: [Module]
    /// Truncation length: sentence_bert_config.json max_seq_length, else tokenizer_config.json model_max_length,
    /// else config.json max_position_embeddings (sentence-transformers' Transformer order).
    public var maxSeqLength: Int?
    /// config_sentence_transformers.json prompts, in file order.
    public var prompts: [(name: String, text: String)]
    public var defaultPromptName: String?
    /// similarity_fn_name; "cosine" when absent.
    public var similarityFunction: String
    /// The sentence embedding's width after every module.
    public var outputDimension: Int

    static let maxModules = 64
    static let maxDimension = 1 << 20
    static let kinds: [String: String] = [
        "sentence_transformers.models.Transformer": "Transformer",
        "sentence_transformers.base.modules.transformer.Transformer": "Transformer",
        "sentence_transformers.models.Pooling": "Pooling",
        "sentence_transformers.sentence_transformer.modules.pooling.Pooling": "Pooling",
        "sentence_transformers.models.Dense": "Dense",
        "sentence_transformers.base.modules.dense.Dense": "Dense",
        "sentence_transformers.models.Normalize": "Normalize",
        "sentence_transformers.base.modules.normalize.Normalize": "Normalize",
    ]
    static let similarityNames: Set<String> = ["cosine", "dot", "euclidean", "manhattan"]

    public static func load(path root: String) throws -> SentenceTransformerFolder {
        let modulesPath = root + "/modules.json"
        guard FileManager.default.fileExists(atPath: modulesPath) else { throw SentenceTransformerError.missingFile(module: "modules.json", path: modulesPath) }
        guard let list = try JSONFile.load(path: modulesPath, limit: 1 << 20).arrayValue else {
            throw SentenceTransformerError.invalidConfig(module: "modules.json", key: "(root)", reason: "not a list")
        }
        guard !list.isEmpty, list.count <= maxModules else {
            throw SentenceTransformerError.invalidPipeline(reason: "\(list.count) modules (1...\(maxModules) accepted)")
        }
        var modules: [Module] = []
        var width: Int?
        var pooled = false
        for (i, entry) in list.enumerated() {
            let label = "module \(i)"
            guard let type = entry["type"]?.stringValue else { throw SentenceTransformerError.invalidConfig(module: label, key: "type", reason: "missing") }
            guard let kind = kinds[type] else { throw SentenceTransformerError.unsupportedModule(module: "\(i)", type: type) }
            let rel = entry["path"]?.stringValue ?? ""
            try checkRelative(rel, module: label)
            let dir = rel.isEmpty ? root : root + "/" + rel
            let name = "\(label) (\(kind) \(rel.isEmpty ? "." : rel))"
            switch kind {
            case "Transformer":
                guard i == 0 else { throw SentenceTransformerError.invalidPipeline(reason: "the Transformer must be module 0 (found at \(i))") }
                modules.append(.transformer(path: rel))
                width = try transformerWidth(root: dir, module: name)
            case "Pooling":
                guard i > 0, !pooled else { throw SentenceTransformerError.invalidPipeline(reason: "Pooling at \(i) must follow the Transformer once") }
                let p = try poolingConfig(dir + "/config.json", module: name)
                if let w = width, w != p.embeddingDimension {
                    throw SentenceTransformerError.invalidConfig(module: name, key: "embedding_dimension", reason: "\(p.embeddingDimension), the Transformer gives \(w)")
                }
                modules.append(.pooling(p))
                pooled = true
                width = p.outputDimension
            case "Dense":
                guard pooled, let w = width else { throw SentenceTransformerError.invalidPipeline(reason: "Dense at \(i) before Pooling") }
                let d = try denseLayer(dir, module: name)
                guard d.inFeatures == w else {
                    throw SentenceTransformerError.invalidConfig(module: name, key: "in_features", reason: "\(d.inFeatures), the previous module gives \(w)")
                }
                modules.append(.dense(d))
                width = d.outFeatures
            default:
                guard pooled else { throw SentenceTransformerError.invalidPipeline(reason: "Normalize at \(i) before Pooling") }
                modules.append(.normalize)
            }
        }
        guard case .transformer = modules[0], pooled, let out = width else {
            throw SentenceTransformerError.invalidPipeline(reason: "a SentenceTransformer needs a Transformer then a Pooling module")
        }
        let (prompts, defaultPrompt, similarity) = try stConfig(root)
        return SentenceTransformerFolder(modules: modules, maxSeqLength: try maxSeqLength(root: root, transformer: modules[0]),
                                         prompts: prompts, defaultPromptName: defaultPrompt, similarityFunction: similarity, outputDimension: out)
    }

    /// Pooling, then Dense / Normalize in order: token embeddings [B, T, C] + mask [B, T] -> [B, outputDimension].
    public func embed(tokenEmbeddings: [Float], mask: [Int32], batch: Int, tokens: Int, promptLength: Int? = nil) throws -> [Float] {
        var x = tokenEmbeddings
        var width = 0
        for m in modules {
            switch m {
            case .transformer: continue
            case .pooling(let p):
                x = try Pool.pool(hidden: x, mask: mask, batch: batch, tokens: tokens, channels: p.embeddingDimension, config: p, promptLength: promptLength)
                width = p.outputDimension
            case .dense(let d):
                x = try d.forward(x, batch: batch)
                width = d.outFeatures
            case .normalize:
                x = Pool.normalize(x, dimension: width)
            }
        }
        return x
    }

    static func checkRelative(_ p: String, module: String) throws {
        let parts = p.split(separator: "/", omittingEmptySubsequences: false)
        guard !p.hasPrefix("/"), !parts.contains(".."), !p.contains("\0"), p.utf8.count <= 1024 else {
            throw SentenceTransformerError.invalidConfig(module: module, key: "path", reason: "must be a folder inside the model folder: \(p)")
        }
    }

    static func transformerWidth(root: String, module: String) throws -> Int? {
        guard let cfg = try JSONFile.loadIfPresent(path: root + "/config.json") else { return nil }
        return cfg["hidden_size"]?.intValue ?? cfg["d_model"]?.intValue ?? cfg["dim"]?.intValue
    }

    static func positiveInt(_ v: JSONValue?, module: String, key: String) throws -> Int {
        guard let n = v?.intValue else { throw SentenceTransformerError.invalidConfig(module: module, key: key, reason: "missing or not an integer") }
        guard n > 0, n <= maxDimension else { throw SentenceTransformerError.invalidConfig(module: module, key: key, reason: "\(n) out of 1...\(maxDimension)") }
        return n
    }

    /// 1_Pooling/config.json: `embedding_dimension` (legacy `word_embedding_dimension`), `pooling_mode` (a name or a
    /// list) or the legacy `pooling_mode_*_tokens` flags (in sentence-transformers' order; none set = mean), `include_prompt`.
    static func poolingConfig(_ path: String, module: String) throws -> PoolingConfig {
        guard let cfg = try JSONFile.loadIfPresent(path: path, limit: 1 << 20) else { throw SentenceTransformerError.missingFile(module: module, path: path) }
        let dim = try positiveInt(cfg["embedding_dimension"] ?? cfg["word_embedding_dimension"], module: module, key: "embedding_dimension")
        var modes: [PoolingMode] = []
        if let m = cfg["pooling_mode"] {
            let names = m.stringValue.map { [$0] } ?? m.arrayValue?.compactMap(\.stringValue) ?? []
            guard !names.isEmpty, names.count == (m.arrayValue?.count ?? 1) else {
                throw SentenceTransformerError.invalidConfig(module: module, key: "pooling_mode", reason: "a mode name or a list of them")
            }
            for n in names {
                guard let mode = PoolingMode(rawValue: n) else {
                    throw SentenceTransformerError.invalidConfig(module: module, key: "pooling_mode", reason: "unknown mode \(n)")
                }
                modes.append(mode)
            }
        } else {
            let legacy: [(String, PoolingMode)] = [("pooling_mode_cls_token", .cls), ("pooling_mode_max_tokens", .max),
                                                  ("pooling_mode_mean_tokens", .mean), ("pooling_mode_mean_sqrt_len_tokens", .meanSqrtLenTokens),
                                                  ("pooling_mode_weightedmean_tokens", .weightedmean), ("pooling_mode_lasttoken", .lasttoken)]
            for (key, mode) in legacy {
                guard let v = cfg[key] else { continue }
                guard let b = v.boolValue else { throw SentenceTransformerError.invalidConfig(module: module, key: key, reason: "not a boolean") }
                if b { modes.append(mode) }
            }
            if modes.isEmpty { modes = [.mean] }
        }
        var includePrompt = true
        if let v = cfg["include_prompt"] {
            guard let b = v.boolValue else { throw SentenceTransformerError.invalidConfig(module: module, key: "include_prompt", reason: "not a boolean") }
            includePrompt = b
        }
        return PoolingConfig(embeddingDimension: dim, modes: modes, includePrompt: includePrompt)
    }

    /// 2_Dense/config.json + model.safetensors (or pytorch_model.bin): linear.weight [out, in], linear.bias [out].
    /// Activation absent = Tanh (Dense's default); use_residual is refused.
    static func denseLayer(_ dir: String, module: String) throws -> DenseLayer {
        guard let cfg = try JSONFile.loadIfPresent(path: dir + "/config.json", limit: 1 << 20) else {
            throw SentenceTransformerError.missingFile(module: module, path: dir + "/config.json")
        }
        let inF = try positiveInt(cfg["in_features"], module: module, key: "in_features")
        let outF = try positiveInt(cfg["out_features"], module: module, key: "out_features")
        let hasBias = cfg["bias"]?.boolValue ?? true
        var activation = DenseActivation.tanh
        if let a = cfg["activation_function"], !a.isNull {
            guard let s = a.stringValue, let act = DenseActivation(rawValue: s) else {
                throw SentenceTransformerError.invalidConfig(module: module, key: "activation_function", reason: "unsupported \(JSONWriter.write(a))")
            }
            activation = act
        }
        if cfg["use_residual"]?.boolValue == true {
            throw SentenceTransformerError.invalidConfig(module: module, key: "use_residual", reason: "residual Dense modules are not supported")
        }
        for key in ["module_input_name", "module_output_name"] {
            if let v = cfg[key], !v.isNull, v.stringValue != "sentence_embedding" {
                throw SentenceTransformerError.invalidConfig(module: module, key: key, reason: "only sentence_embedding is supported")
            }
        }
        let tensors = try denseTensors(dir, module: module)
        let expected = hasBias ? ["linear.bias", "linear.weight"] : ["linear.weight"]
        guard tensors.keys.sorted() == expected else {
            throw SentenceTransformerError.invalidWeights(module: module, reason: "tensors \(tensors.keys.sorted()), expected \(expected)")
        }
        let w = tensors["linear.weight"]!
        guard w.shape.dims == [outF, inF], let wv = w.floatValues() else {
            throw SentenceTransformerError.invalidWeights(module: module, reason: "linear.weight \(w.dtype) \(w.shape), expected float [\(outF), \(inF)]")
        }
        var bias: [Float]?
        if let b = tensors["linear.bias"] {
            guard b.shape.dims == [outF], let bv = b.floatValues() else {
                throw SentenceTransformerError.invalidWeights(module: module, reason: "linear.bias \(b.dtype) \(b.shape), expected float [\(outF)]")
            }
            bias = bv
        }
        return try DenseLayer(inFeatures: inF, outFeatures: outF, weight: wv, bias: bias, activation: activation)
    }

    static func denseTensors(_ dir: String, module: String) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        if FileManager.default.fileExists(atPath: dir + "/model.safetensors") {
            let f = try Safetensors.File(path: dir + "/model.safetensors")
            for n in f.names { out[n] = try f.tensor(n) }
        } else if FileManager.default.fileExists(atPath: dir + "/pytorch_model.bin") {
            let f = try TorchZip.File(path: dir + "/pytorch_model.bin")
            for n in f.names { out[n] = try f.tensor(n) }
        } else {
            throw SentenceTransformerError.missingFile(module: module, path: dir + "/model.safetensors")
        }
        return out
    }

    static func maxSeqLength(root: String, transformer: Module) throws -> Int? {
        guard case .transformer(let rel) = transformer else { return nil }
        let dir = rel.isEmpty ? root : root + "/" + rel
        if let v = try JSONFile.loadIfPresent(path: dir + "/sentence_bert_config.json", limit: 1 << 20)?["max_seq_length"], !v.isNull {
            return try positiveInt(v, module: "sentence_bert_config.json", key: "max_seq_length")
        }
        // transformers' "no limit" sentinel (int(1e30)) does not fit Int64 and parses as a double: no limit here either.
        if let n = try JSONFile.loadIfPresent(path: dir + "/tokenizer_config.json")?["model_max_length"]?.intValue, n > 0, n <= maxDimension {
            return n
        }
        return try JSONFile.loadIfPresent(path: dir + "/config.json")?["max_position_embeddings"]?.intValue
    }

    static func stConfig(_ root: String) throws -> ([(name: String, text: String)], String?, String) {
        let m = "config_sentence_transformers.json"
        guard let cfg = try JSONFile.loadIfPresent(path: root + "/" + m, limit: 1 << 20) else { return ([], nil, "cosine") }
        var prompts: [(name: String, text: String)] = []
        if let p = cfg["prompts"], !p.isNull {
            guard let members = p.objectValue else { throw SentenceTransformerError.invalidConfig(module: m, key: "prompts", reason: "not an object") }
            for (k, v) in members {
                guard let s = v.stringValue else { throw SentenceTransformerError.invalidConfig(module: m, key: "prompts.\(k)", reason: "not a string") }
                prompts.append((k, s))
            }
        }
        var defaultPrompt: String?
        if let d = cfg["default_prompt_name"], !d.isNull {
            guard let s = d.stringValue, prompts.contains(where: { $0.name == s }) else {
                throw SentenceTransformerError.invalidConfig(module: m, key: "default_prompt_name", reason: "names no prompt")
            }
            defaultPrompt = s
        }
        var similarity = "cosine"
        if let s = cfg["similarity_fn_name"], !s.isNull {
            guard let name = s.stringValue, similarityNames.contains(name) else {
                throw SentenceTransformerError.invalidConfig(module: m, key: "similarity_fn_name", reason: "unsupported \(JSONWriter.write(s))")
            }
            similarity = name
        }
        return (prompts, defaultPrompt, similarity)
    }
}
