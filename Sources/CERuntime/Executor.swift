import CECore
import CEGraph
import CEKernels
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

public enum RuntimeError: Error, Equatable, CustomStringConvertible {
    case tokenOutOfRange(id: Int32, vocabSize: Int)
    case typeOutOfRange(id: Int32, typeVocabSize: Int)
    case sequenceTooLong(length: Int, limit: Int)
    case emptySequence(index: Int)
    case unsupportedWeightDType(name: String, dtype: DType)
    case unknownActivationMode(String)
    case invalidActivationPlan(String)

    public var description: String {
        switch self {
        case .tokenOutOfRange(let id, let v): return "token id \(id) is outside the model's vocabulary of \(v)"
        case .typeOutOfRange(let id, let v): return "token type id \(id) is outside the model's \(v) token types"
        case .sequenceTooLong(let l, let limit): return "sequence of \(l) tokens exceeds the model's \(limit) positions"
        case .emptySequence(let i): return "sequence \(i) has no tokens"
        case .unsupportedWeightDType(let n, let d): return "weight \(n) has dtype \(d.rawValue), which the fp32 runtime cannot widen"
        case .unknownActivationMode(let m):
            return "the artifact's plan asks for activations \(displayEscaped(m)); this runtime knows int8, int16, fp32 and per_linear"
        case .invalidActivationPlan(let r): return "the artifact's per-linear activation plan is invalid: \(displayEscaped(r))"
        }
    }
}

/// One sequence to score: token ids and token type ids of equal length.
public struct TokenSequence: Sendable {
    public var ids: [Int32]
    public var typeIDs: [Int32]
    public init(ids: [Int32], typeIDs: [Int32]) {
        self.ids = ids
        self.typeIDs = typeIDs
    }
}

/// How int8 linears compute (the artifact plan's `activations`): inputs quantized per row at run time to
/// int8 or to int16, per row and weight group to int8 (`int8_grouped`), or the int8 weights widened to fp32 at load
/// (weight-only).
public enum ActivationMode: String, Sendable {
    case int8, int16, fp32
    case int8Grouped = "int8_grouped"
}

/// Runs the canonical graph: walks `graph.ops`, one forward function per op (Ops.swift). Sequences are packed
/// without padding: linear layers see only real tokens, and attention runs per sequence over its own tokens.
public final class Executor: @unchecked Sendable {
    public let graph: Graph
    /// `graph.ops`, read once.
    let ops: [Op]
    let weights: PlannedWeights
    /// Called with the input of every encoder linear (canonical weight name, [rows, cols] fp32) before
    /// it is multiplied; for calibration. Nil in normal runs.
    public var observer: ((String, UnsafePointer<Float>, Int, Int) -> Void)?
    let workspace: Workspace
    let lock = PosixLock()

    /// `int8Activations` false runs int8 linears as weight-only quantization (weights widened to fp32 at
    /// load); true (default) quantizes their inputs per row to int8 at run time.
    public convenience init(graph: Graph, int8Activations: Bool = true) throws {
        try self.init(graph: graph, activations: int8Activations ? .int8 : .fp32)
    }

    /// `activations`: how int8 linears compute (ActivationMode); fp32 and fp16 weights ignore it.
    public convenience init(graph: Graph, activations: ActivationMode) throws {
        try self.init(graph: graph, activationPlan: ActivationPlan(activations))
    }

    /// `activationPlan`: how each int8 linear computes (ActivationPlan).
    public init(graph: Graph, activationPlan: ActivationPlan) throws {
        try graph.validate()
        self.graph = graph
        ops = graph.ops
        weights = try PlannedWeights(graph: graph.isEncoderOnly && graph.architecture != .decoder ? graph.withPlaceholderHead() : graph,
                                     activations: activationPlan)
        PhaseTrace.mark("weights planned")
        workspace = Workspace(hidden: graph.hyperparameters.hiddenSize, intermediate: graph.hyperparameters.intermediateSize,
                              embedding: graph.hyperparameters.embeddingSize, gated: graph.architecture == .modernbert)
        if let m = graph.hyperparameters.modernBERT {
            rotary = [.global: RotaryTable(theta: m.globalRopeTheta, headDim: graph.hyperparameters.headDim),
                      .local: RotaryTable(theta: m.localRopeTheta, headDim: graph.hyperparameters.headDim)]
        }
        disentangled = try graph.hyperparameters.debertaV2.map { try DisentangledTables(graph: graph, parameters: $0) }
        if let m = graph.hyperparameters.decoder {
            rotary = [.global: RotaryTable(theta: m.ropeTheta, headDim: m.headDim)]
            workspace.decoder = DecoderScratch(graph.hyperparameters, m)
        }
    }

    /// DeBERTa-v2's projected position tables (DisentangledAttention.swift); nil for other architectures.
    let disentangled: DisentangledTables?

    /// ModernBERT's cos/sin tables per attention span, grown to the longest sequence seen.
    var rotary: [AttentionSpan: RotaryTable] = [:]

    /// Tokens one pass through the layers holds at most (unless one sequence alone is longer): larger
    /// batches run as consecutive passes, so activation memory stays bounded (about 13 KB per token for
    /// MiniLM-L6 with the chunked feed-forward block) whatever batch size the caller asks for. 512 rows
    /// keep the int8 GEMMs near full speed: on the bench's main set at batch 32, 2,048 ran about 4 %
    /// faster by median of four runs (within this machine's run-to-run noise) for 36 MB more peak RSS.
    public var tokensPerPass = 512

    /// The last block runs for the rows the head reads alone (HeadRows.swift) when the head reads one row per sequence;
    /// false runs it for every row (the same logits up to the order of fp32 sums; for comparisons).
    public var headRowsOnly = true

    /// Rows of the feed-forward block computed at a time (its intermediate activations are the widest).
    public var ffnChunkRows = 256

    /// Raw logits, [sequences.count][numLabels].
    public func logits(_ sequences: [TokenSequence]) throws -> [[Float]] {
        var out: [[Float]] = []
        out.reserveCapacity(sequences.count)
        var start = 0
        while start < sequences.count {
            var end = start + 1, tokens = sequences[start].ids.count
            while end < sequences.count, tokens + sequences[end].ids.count <= tokensPerPass {
                tokens += sequences[end].ids.count
                end += 1
            }
            out += try pass(Array(sequences[start..<end]), firstIndex: start)
            start = end
        }
        return out
    }

    /// One pass: the sequences checked and packed, then every op of the graph in order.
    private func pass(_ sequences: [TokenSequence], firstIndex: Int) throws -> [[Float]] {
        let batch = try Batch(sequences, graph: graph, firstIndex: firstIndex)
        if sequences.isEmpty { return [] }
        lock.lock()
        defer { lock.unlock() }
        workspace.reserve(tokens: batch.total, longest: batch.longest, batch: sequences.count)
        for table in rotary.values { table.reserve(batch.longest) }
        disentangled?.reserve(longest: batch.longest)
        let n = sequences.count, labels = graph.hyperparameters.numLabels
        var out = [Float](repeating: 0, count: n * labels)
        let headRows = observer == nil && headRowsOnly ? Pass.headRows(ops, batch, graph.hyperparameters) : nil
        out.withUnsafeMutableBufferPointer { logits in
            let p = Pass(batch: batch, graph: graph, weights: weights, workspace: workspace, rotary: rotary,
                         observer: observer, ffnChunkRows: ffnChunkRows, logits: logits.baseAddress!,
                         disentangled: disentangled, headRows: headRows)
            for op in ops { p.forward(op) }
        }
        return (0..<n).map { Array(out[($0 * labels)..<(($0 + 1) * labels)]) }
    }
}

/// The sequences of one pass, packed: sequence b's tokens are rows offsets[b] ..< offsets[b] + length of the
/// activations, `total` rows in all.
struct Batch {
    let sequences: [TokenSequence]
    let offsets: [Int]
    let total: Int
    let longest: Int

    /// Checks every id against the graph's tables and limits.
    init(_ sequences: [TokenSequence], graph: Graph, firstIndex: Int) throws {
        let h = graph.hyperparameters, arch = graph.architecture, limit = graph.maxSequenceLength
        var offsets = [Int](), total = 0, longest = 0
        for (i, s) in sequences.enumerated() {
            guard !s.ids.isEmpty, s.ids.count == s.typeIDs.count else { throw RuntimeError.emptySequence(index: firstIndex + i) }
            guard s.ids.count <= limit else { throw RuntimeError.sequenceTooLong(length: s.ids.count, limit: limit) }
            for id in s.ids where id < 0 || Int(id) >= h.vocabSize { throw RuntimeError.tokenOutOfRange(id: id, vocabSize: h.vocabSize) }
            // Type ids reach only models that read them (BERT, ELECTRA); RoBERTa and DistilBERT ignore them, as
            // transformers does when the tokenizer does not return them.
            if arch.usesTokenTypeIDs || h.debertaV2?.tokenTypes == true {
                for t in s.typeIDs where t < 0 || Int(t) >= h.typeVocabSize { throw RuntimeError.typeOutOfRange(id: t, typeVocabSize: h.typeVocabSize) }
            }
            offsets.append(total)
            total += s.ids.count
            longest = max(longest, s.ids.count)
        }
        self.sequences = sequences
        self.offsets = offsets
        self.total = total
        self.longest = longest
    }

    /// Tokens of sequence b.
    func length(_ b: Int) -> Int { sequences[b].ids.count }
}
