import CECore
import CEGraph
import CEImport
import CERetrieve
import CERuntime
import CETokenizers
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Errors of encoding texts with a SentenceTransformer, each naming what is wrong.
public enum BiEncoderError: Error, Equatable, CustomStringConvertible {
    case invalidBatchSize(Int)
    /// `prompt_name` names no prompt of config_sentence_transformers.json.
    case unknownPrompt(name: String, known: [String])
    /// modules.json's Transformer is not at the folder's root or a folder inside it.
    case transformerNotFound(path: String)
    /// The Transformer module's model has a classification head (a cross-encoder), not a bare encoder.
    case notAnEncoder(architecture: String)
    /// The Transformer's hidden size differs from Pooling's embedding_dimension.
    case widthMismatch(transformer: Int, pooling: Int)

    public var description: String {
        switch self {
        case .invalidBatchSize(let b): return "batch size \(b) must be at least 1"
        case .unknownPrompt(let n, let k):
            return "prompt name \(displayEscaped(n)) is not in config_sentence_transformers.json (prompts: \(k.isEmpty ? "none" : k.joined(separator: ", ")))"
        case .transformerNotFound(let p): return "the Transformer module's folder \(displayEscaped(p)) does not exist"
        case .notAnEncoder(let a):
            return "the Transformer module is a \(a) with a classification head: a cross-encoder, not a SentenceTransformer's encoder"
        case .widthMismatch(let t, let p): return "the Transformer gives \(t) dimensions, Pooling's embedding_dimension is \(p)"
        }
    }
}

/// A sentence-transformers SentenceTransformer: a bare encoder (the Transformer module, any architecture cetool
/// reads, fp32 or a cetool artifact) followed by Pooling, Dense and Normalize as modules.json lists them.
/// `encode` mirrors SentenceTransformer.encode (batch_size, prompt_name / prompt, normalize_embeddings).
public final class SentenceTransformer: @unchecked Sendable {
    /// The folder holding modules.json.
    public let directory: URL
    public let folder: SentenceTransformerFolder
    public let model: ImportedModel
    public let executor: Executor
    /// Tokens per text after truncation, special tokens included (max_seq_length).
    public let maxSeqLength: Int
    public var tokenizer: Tokenizer { model.tokenizer }
    /// The sentence embedding's width.
    public var dimension: Int { folder.outputDimension }
    /// Whether the last module is Normalize (embeddings have unit length).
    public var normalizes: Bool { folder.modules.last == .normalize }
    /// similarity_fn_name: cosine (default) or dot; what search uses unless told otherwise.
    public var similarityFunction: String { folder.similarityFunction }

    /// Loads a SentenceTransformer folder. `maxSeqLength` overrides the folder's; `threads` sets the BLAS threads.
    public init(modelDirectory: URL, maxSeqLength: Int? = nil, threads: Int? = nil) throws {
        Kernels.prepare()
        if let threads { Kernels.setThreads(threads) }
        let folder = try SentenceTransformerFolder.load(path: modelDirectory.path)
        guard case .transformer(let rel)? = folder.modules.first else {
            throw SentenceTransformerError.invalidPipeline(reason: "a SentenceTransformer needs a Transformer then a Pooling module")
        }
        let dir = rel.isEmpty ? modelDirectory : modelDirectory.appendingPathComponent(rel)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw BiEncoderError.transformerNotFound(path: dir.path)
        }
        var executor: Executor?
        let model = try ModelDirectory.load(dir, maxLength: maxSeqLength) { graph, artifact in
            guard graph.isEncoderOnly else { throw BiEncoderError.notAnEncoder(architecture: graph.architecture.rawValue) }
            executor = try Executor(graph: graph, activationPlan: try CrossEncoder.activationPlan(artifact))
        }
        if case .pooling(let p)? = folder.modules.dropFirst().first, p.embeddingDimension != model.graph.hyperparameters.hiddenSize {
            throw BiEncoderError.widthMismatch(transformer: model.graph.hyperparameters.hiddenSize, pooling: p.embeddingDimension)
        }
        directory = modelDirectory
        self.folder = folder
        self.model = model
        self.executor = executor!
        self.maxSeqLength = model.defaultMaxLength
    }

    public convenience init(_ path: String, maxSeqLength: Int? = nil, threads: Int? = nil) throws {
        try self.init(modelDirectory: URL(fileURLWithPath: path), maxSeqLength: maxSeqLength, threads: threads)
    }

    /// encode's prompt: `prompt` if given, else the prompt named `promptName`, else the folder's default prompt.
    public func resolvePrompt(promptName: String?, prompt: String?) throws -> String? {
        if let prompt { return prompt }
        let name = promptName ?? folder.defaultPromptName
        guard let name else { return nil }
        guard let p = folder.prompts.first(where: { $0.name == name }) else {
            throw BiEncoderError.unknownPrompt(name: name, known: folder.prompts.map(\.name))
        }
        return p.text
    }

    /// Tokens of the prompt alone, less a trailing special token (Transformer._get_prompt_length).
    public func promptLength(_ prompt: String) throws -> Int {
        let ids = try tokenizer.encode(prompt, maxLength: maxSeqLength).ids
        let special = Set(try tokenizer.encode("", maxLength: nil).ids)
        return ids.count - (ids.last.map { special.contains($0) } == true ? 1 : 0)
    }

    /// The texts as the Transformer module tokenizes them: prompt prepended, truncated to maxSeqLength.
    public func tokenize(_ texts: [String], prompt: String? = nil) throws -> [Encoding] {
        try texts.map { try tokenizer.encode((prompt ?? "") + $0, maxLength: maxSeqLength) }
    }

    /// The Transformer module's output for some texts: token embeddings (B, T, C) and the attention mask.
    public func tokenEmbeddings(_ texts: [String], prompt: String? = nil) throws -> HiddenStates {
        let enc = try tokenize(texts, prompt: prompt)
        return try executor.hiddenStates(enc.map { TokenSequence(ids: $0.ids, typeIDs: $0.typeIDs) })
    }

    /// Sentence embeddings (texts.count × dimension) in input order: SentenceTransformer.encode. Texts are
    /// batched longest first, as the reference does; `normalizeEmbeddings` L2-normalizes the result.
    public func encode(_ texts: [String], batchSize: Int = 32, promptName: String? = nil, prompt: String? = nil,
                       normalizeEmbeddings: Bool = false, showProgressBar: Bool = false) throws -> Embeddings {
        guard batchSize >= 1 else { throw BiEncoderError.invalidBatchSize(batchSize) }
        let d = dimension
        let resolved = try resolvePrompt(promptName: promptName, prompt: prompt)
        let pl = try resolved.map { try promptLength($0) }
        let enc = try tokenize(texts, prompt: resolved)
        let order = enc.indices.sorted { (enc[$0].ids.count, $1) > (enc[$1].ids.count, $0) }
        var out = [Float](repeating: 0, count: texts.count * d)
        let bar = showProgressBar ? ProgressBar(total: texts.count, label: "Batches") : nil
        var start = 0
        while start < order.count {
            let idx = Array(order[start..<min(start + batchSize, order.count)])
            let h = try executor.hiddenStates(idx.map { TokenSequence(ids: enc[$0].ids, typeIDs: enc[$0].typeIDs) })
            var e = try folder.embed(tokenEmbeddings: h.values, mask: h.attentionMask, batch: h.batch, tokens: h.tokens, promptLength: pl)
            if normalizeEmbeddings { e = Pool.normalize(e, dimension: d) }
            for (r, i) in idx.enumerated() {
                for j in 0..<d { out[i * d + j] = e[r * d + j] }
            }
            start += idx.count
            bar?.update(done: start)
        }
        bar?.finish()
        return try Embeddings(count: texts.count, dimension: d, values: out)
    }
}
