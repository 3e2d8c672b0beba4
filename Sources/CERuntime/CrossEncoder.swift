import CECore
import CEGraph
import CEImport
import CETokenizers
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

public enum CrossEncoderError: Error, Equatable, CustomStringConvertible {
    case emptyDocuments
    case multiLabelModel(numLabels: Int, operation: String)
    case invalidBatchSize(Int)
    case invalidTopK(Int)
    /// A bare encoder (BertModel, a SentenceTransformer's Transformer) has no head to score pairs with.
    case encoderWithoutHead(architecture: String)

    public var description: String {
        switch self {
        case .emptyDocuments: return "rank needs at least one document"
        case .multiLabelModel(let n, let op): return "\(op) needs a model with one label; this model has \(n) (use predictLabels)"
        case .invalidBatchSize(let b): return "batch size \(b) must be at least 1"
        case .invalidTopK(let k): return "top_k \(k) must be at least 1"
        case .encoderWithoutHead(let a):
            return "\(a) is an encoder without a classification head: it embeds texts (cetool embed, SentenceTransformer), it does not score pairs"
        }
    }
}

/// One ranked document, best first. sentence-transformers: {"corpus_id", "score", "text"}.
public struct RankedDocument: Sendable, Equatable {
    public var corpusID: Int
    public var score: Float
    public var text: String?
}

/// A sentence-transformers CrossEncoder: scores text pairs with the model's own tokenizer, limits and
/// activation, mirroring `CrossEncoder.predict` and `CrossEncoder.rank`.
public final class CrossEncoder: @unchecked Sendable {
    public let model: ImportedModel
    public let executor: Executor
    /// Tokens per pair after truncation (longest_first), incl. special tokens.
    public let maxLength: Int
    /// The model's own activation (sentence-transformers `activation_fn`).
    public var activation: ScoreActivation { model.scorePolicy.activation }
    public var numLabels: Int { model.graph.hyperparameters.numLabels }
    public var labels: [String] { model.graph.labels }
    public var tokenizer: Tokenizer { model.tokenizer }

    /// Loads a HuggingFace model directory. `maxLength` as CrossEncoder(max_length=…); `threads` sets
    /// the BLAS thread count for the process.
    /// The weights are laid out for the kernels while the tokenizer is built.
    public convenience init(modelDirectory: URL, maxLength: Int? = nil, threads: Int? = nil) throws {
        Kernels.prepare()
        if let threads { Kernels.setThreads(threads) }
        var executor: Executor?
        let model = try ModelDirectory.load(modelDirectory, maxLength: maxLength) { graph, artifact in
            if graph.isEncoderOnly { throw CrossEncoderError.encoderWithoutHead(architecture: graph.architecture.rawValue) }
            executor = try Executor(graph: graph, activationPlan: try CrossEncoder.activationPlan(artifact))
        }
        self.init(model: model, executor: executor!)
    }

    /// An imported model, possibly transformed first (e.g. its linears quantized by CEQuant).
    public convenience init(model: ImportedModel, threads: Int? = nil) throws {
        if let threads { Kernels.setThreads(threads) }
        if model.graph.isEncoderOnly { throw CrossEncoderError.encoderWithoutHead(architecture: model.graph.architecture.rawValue) }
        self.init(model: model, executor: try Executor(graph: model.graph, activationPlan: try CrossEncoder.activationPlan(model.artifact)))
    }

    /// An imported model whose int8 linears compute as `activationPlan` says (convert's per-linear choice tries plans).
    public convenience init(model: ImportedModel, activationPlan: ActivationPlan, threads: Int? = nil) throws {
        if let threads { Kernels.setThreads(threads) }
        if model.graph.isEncoderOnly { throw CrossEncoderError.encoderWithoutHead(architecture: model.graph.architecture.rawValue) }
        self.init(model: model, executor: try Executor(graph: model.graph, activationPlan: activationPlan))
    }

    private init(model: ImportedModel, executor: Executor) {
        self.model = model
        self.maxLength = model.defaultMaxLength
        self.executor = executor
    }

    /// The artifact's plan says how its int8 linears compute (int8 when it does not say: artifacts older
    /// than the key); a graph quantized in memory computes as `Quantize.Plan`'s default, int16.
    /// `per_linear`: `linear_activations` maps every int8 linear to int8 or int16 (formats/artifact.md).
    public static func activationPlan(_ artifact: ArtifactFormat.Metadata?) throws -> ActivationPlan {
        let mode = artifact.map { $0.plan["activations"]?.stringValue ?? "int8" } ?? "int16"
        if mode == "per_linear" {
            guard let members = artifact?.plan["linear_activations"]?.objectValue else {
                throw RuntimeError.invalidActivationPlan("activations is per_linear but linear_activations is not an object")
            }
            var perLinear: [String: ActivationMode] = [:]
            for (name, value) in members {
                guard let m = value.stringValue.flatMap(ActivationMode.init(rawValue:)), m != .fp32 else {
                    throw RuntimeError.invalidActivationPlan("\(name): \(value) is not \"int8\" or \"int16\"")
                }
                guard perLinear.updateValue(m, forKey: name) == nil else { throw RuntimeError.invalidActivationPlan("\(name) is listed twice") }
            }
            return ActivationPlan(perLinear: perLinear)
        }
        guard let activations = ActivationMode(rawValue: mode) else { throw RuntimeError.unknownActivationMode(mode) }
        return ActivationPlan(activations)
    }

    /// Token ids / type ids / mask of each pair as the model sees them (unpadded).
    public func encode(_ pairs: [(String, String)]) throws -> [Encoding] {
        try pairs.map { try tokenizer.encode($0.0, $0.1, maxLength: maxLength) }
    }

    /// Raw logits, one row of numLabels per pair, in input order.
    public func logits(_ pairs: [(String, String)], batchSize: Int = 32, showProgressBar: Bool = false) throws -> [[Float]] {
        guard batchSize >= 1 else { throw CrossEncoderError.invalidBatchSize(batchSize) }
        if pairs.isEmpty { return [] }
        let encodings = try encode(pairs)
        // Longest first, as sentence-transformers batches; results return in input order.
        let order = encodings.indices.sorted { (encodings[$0].ids.count, $1) > (encodings[$1].ids.count, $0) }
        var out = [[Float]](repeating: [], count: pairs.count)
        let bar = showProgressBar ? ProgressBar(total: pairs.count, label: "Pairs") : nil
        var start = 0
        while start < order.count {
            let idx = order[start..<min(start + batchSize, order.count)]
            let seqs = idx.map { TokenSequence(ids: encodings[$0].ids, typeIDs: encodings[$0].typeIDs) }
            let rows = try executor.logits(seqs)
            for (i, r) in zip(idx, rows) { out[i] = r }
            start += idx.count
            bar?.update(done: start)
        }
        bar?.finish()
        return out
    }

    /// Scores per pair and label: `activation` (default: the model's own) then, when `applySoftmax`
    /// and the model has several labels, softmax over labels, as CrossEncoder.predict.
    public func predictLabels(_ pairs: [(String, String)], batchSize: Int = 32, showProgressBar: Bool = false,
                              activation: ScoreActivation? = nil, applySoftmax: Bool = false) throws -> [[Float]] {
        let raw = try logits(pairs, batchSize: batchSize, showProgressBar: showProgressBar)
        let act = activation ?? self.activation
        return raw.map { row in
            var r = Scoring.apply(act, to: row)
            if applySoftmax, numLabels > 1 { r = Scoring.apply(.softmax, to: r) }
            return r
        }
    }

    /// One score per pair for single-label models (CrossEncoder.predict's 1-D result).
    public func predict(_ pairs: [(String, String)], batchSize: Int = 32, showProgressBar: Bool = false,
                        activation: ScoreActivation? = nil) throws -> [Float] {
        guard numLabels == 1 else { throw CrossEncoderError.multiLabelModel(numLabels: numLabels, operation: "predict") }
        return try predictLabels(pairs, batchSize: batchSize, showProgressBar: showProgressBar, activation: activation).map { $0[0] }
    }

    /// Documents sorted by score, best first (ties keep input order), cut to topK. CrossEncoder.rank.
    public func rank(query: String, documents: [String], topK: Int? = nil, returnDocuments: Bool = false,
                     batchSize: Int = 32, showProgressBar: Bool = false, activation: ScoreActivation? = nil) throws -> [RankedDocument] {
        guard numLabels == 1 else { throw CrossEncoderError.multiLabelModel(numLabels: numLabels, operation: "rank") }
        guard !documents.isEmpty else { throw CrossEncoderError.emptyDocuments }
        if let topK, topK < 1 { throw CrossEncoderError.invalidTopK(topK) }
        let scores = try predict(documents.map { (query, $0) }, batchSize: batchSize, showProgressBar: showProgressBar, activation: activation)
        let order = scores.indices.sorted { (scores[$0], -$0) > (scores[$1], -$1) }
        return order.prefix(topK ?? order.count).map {
            RankedDocument(corpusID: $0, score: scores[$0], text: returnDocuments ? documents[$0] : nil)
        }
    }
}

/// Score activations, computed in Double and rounded once, as close to torch's fp32 results as fp32 allows.
public enum Scoring {
    public static func apply(_ a: ScoreActivation, to row: [Float]) -> [Float] {
        switch a {
        case .identity: return row
        case .sigmoid: return row.map { Float(1 / (1 + exp(-Double($0)))) }
        case .tanh: return row.map { Float(tanh(Double($0))) }
        case .softmax:
            let m = Double(row.max() ?? 0)
            let e = row.map { exp(Double($0) - m) }
            let s = e.reduce(0, +)
            return e.map { Float($0 / s) }
        }
    }

    /// The logit an activated single-label score came from, where the activation can be undone: identity, and
    /// sigmoid and tanh strictly inside their ranges (a saturated score has lost its logit). nil otherwise.
    public static func inverse(_ a: ScoreActivation, of score: Float) -> Float? {
        let s = Double(score)
        switch a {
        case .identity: return score
        case .sigmoid: return s > 0 && s < 1 ? Float(log(s) - log1p(-s)) : nil
        case .tanh: return s > -1 && s < 1 ? Float(atanh(s)) : nil
        case .softmax: return nil
        }
    }
}
