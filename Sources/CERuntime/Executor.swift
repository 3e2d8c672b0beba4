import CECore
import CEGraph
import CEKernels
import Foundation

public enum RuntimeError: Error, Equatable, CustomStringConvertible {
    case tokenOutOfRange(id: Int32, vocabSize: Int)
    case typeOutOfRange(id: Int32, typeVocabSize: Int)
    case sequenceTooLong(length: Int, limit: Int)
    case emptySequence(index: Int)
    case unsupportedWeightDType(name: String, dtype: DType)
    case unknownActivationMode(String)

    public var description: String {
        switch self {
        case .tokenOutOfRange(let id, let v): return "token id \(id) is outside the model's vocabulary of \(v)"
        case .typeOutOfRange(let id, let v): return "token type id \(id) is outside the model's \(v) token types"
        case .sequenceTooLong(let l, let limit): return "sequence of \(l) tokens exceeds the model's \(limit) positions"
        case .emptySequence(let i): return "sequence \(i) has no tokens"
        case .unsupportedWeightDType(let n, let d): return "weight \(n) has dtype \(d.rawValue), which the fp32 runtime cannot widen"
        case .unknownActivationMode(let m):
            return "the artifact's plan asks for activations \(displayEscaped(m)); this runtime knows int8, int16 and fp32"
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

/// A linear layer's weight [out, in] as the kernels take it.
enum LinearWeight {
    case f32(UnsafePointer<Float>)
    /// Per-output-channel symmetric int8 with its F32 [out] scales and, when smoothed, the F32 [in]
    /// factors the input is multiplied by before it is quantized.
    /// `packed`: the same weights as int8 panels for ce_qgemm_packed_f32 (AVX2 machines, and every machine
    /// for int16 activations), else nil; the row-major weights (first) are nil when only the panels are read. `qmax` > 0: inputs quantized per row to int16 in ±qmax
    /// (ce_s16_qmax); 0: to int8.
    /// `group` > 0: `scales` is [out, ceil(in / group)], one per output channel and group of `group` inputs
    /// (ce_qgemm_packed_grouped_f32; such a weight is always packed); 0: [out].
    case i8(UnsafePointer<Int8>?, scales: UnsafePointer<Float>, smooth: UnsafePointer<Float>?, packed: UnsafePointer<Int8>?, qmax: Int32 = 0, group: Int32 = 0)
}

/// How int8 linears compute (the artifact plan's `activations`): inputs quantized per row at run time to
/// int8 or to int16, or the int8 weights widened to fp32 at load (weight-only).
public enum ActivationMode: String, Sendable {
    case int8, int16, fp32
}

/// Weights laid out for the kernels, 64-byte aligned: fp32, or int8 + scales for quantized linears.
final class PlannedWeights {
    struct Block {
        var qkvW: LinearWeight, qkvB: UnsafePointer<Float>?     // [3·hidden, hidden], [3·hidden]
        var outW: LinearWeight, outB: UnsafePointer<Float>?     // [hidden, hidden]
        /// nil for ModernBERT's block 0 (no norm before its attention).
        var attnNormW: UnsafePointer<Float>?, attnNormB: UnsafePointer<Float>?
        var upW: LinearWeight, upB: UnsafePointer<Float>?       // [intermediate, hidden]; ModernBERT [2·intermediate, hidden]
        var downW: LinearWeight, downB: UnsafePointer<Float>?   // [hidden, intermediate]
        var ffnNormW: UnsafePointer<Float>, ffnNormB: UnsafePointer<Float>
    }
    /// [vocab, hidden]: fp32, or int8 rows with F32 scales per row (or per row and group of columns); never packed.
    var tokenEmbd: LinearWeight
    var embdNormW, embdNormB: UnsafePointer<Float>
    /// [maxPositions, embedding]; nil for ModernBERT (rotary positions).
    var posEmbd: UnsafePointer<Float>?
    /// [typeVocab, embedding]; nil for DistilBERT and ModernBERT (no token types).
    var typeEmbd: UnsafePointer<Float>?
    /// [hidden, embedding] and [hidden]: ELECTRA's embeddings_project, nil when embedding == hidden.
    var projW, projB: UnsafePointer<Float>?
    var poolW: UnsafePointer<Float>, poolB: UnsafePointer<Float>?
    var clsW, clsB: UnsafePointer<Float>
    /// ModernBERT's final_norm and head.norm; nil elsewhere.
    var outNormW, outNormB, poolNormW, poolNormB: UnsafePointer<Float>?
    var blocks: [Block] = []
    private var keep: [AnyObject] = []

    init(graph: Graph, activations: ActivationMode) throws {
        var keep: [AnyObject] = []
        var packJobs: [PackJob] = []
        /// fp32 pointer to one or more tensors concatenated along dim 0.
        func floats(_ names: [String]) throws -> UnsafePointer<Float> {
            let tensors = names.map { graph.weights[$0]! }
            if tensors.count == 1, tensors[0].dtype == .f32,
               Int(bitPattern: tensors[0].storage.bytes.baseAddress) % MemoryLayout<Float>.alignment == 0 {
                // Zero-copy view (e.g. into the mmapped checkpoint).
                keep.append(TensorBox(tensors[0]))
                return tensors[0].storage.bytes.baseAddress!.assumingMemoryBound(to: Float.self)
            }
            let total = tensors.reduce(0) { $0 + $1.shape.elementCount }
            let box = OwnedBytes(count: total * 4, alignment: 64)
            let dst = box.pointer.bindMemory(to: Float.self, capacity: total)
            var at = 0
            for (name, t) in zip(names, tensors) {
                let count = t.shape.elementCount
                if t.dtype == .f16, Int(bitPattern: t.storage.bytes.baseAddress) % 2 == 0 {
                    // F16C widening when the CPU has it.
                    ce_f16_to_f32(t.storage.bytes.baseAddress!.assumingMemoryBound(to: UInt16.self), dst + at, count)
                } else {
                    guard let v = t.floatValues() else { throw RuntimeError.unsupportedWeightDType(name: name, dtype: t.dtype) }
                    (dst + at).update(from: v, count: v.count)
                }
                at += count
            }
            keep.append(box)
            return UnsafePointer(dst)
        }
        /// Panels for the packed int8 kernel (formats/quantization.md) on AVX2 machines and for int16
        /// activations; elsewhere the int8 activation path multiplies the row-major weights.
        let packs = ce_fp32_variant() == 1 || activations == .int16
        /// All panels in one arena (huge pages where the kernel gives them), reserved for every int8 matrix
        /// of the graph, each packed on its own: concatenated row blocks pad no more than that.
        let arena = packs ? PageArena(capacity: graph.weights.values.reduce(0) { total, t in
            guard t.dtype == .i8, t.shape.dims.count == 2 else { return total }
            return total + ce_qgemm_packed_size(Int32(t.shape.dims[0]), Int32(t.shape.dims[1])) + 64
        }) : nil
        /// int8 panels of `tensors` (row blocks of one linear), filled below in parallel.
        func pack(_ tensors: [Tensor], n: Int, k: Int) -> UnsafePointer<Int8> {
            let size = ce_qgemm_packed_size(Int32(n), Int32(k))
            let raw: UnsafeMutableRawPointer
            if let a = arena?.allocate(count: size) {
                raw = a
            } else {
                let box = OwnedBytes(count: size, alignment: 64)
                keep.append(box)
                raw = box.pointer
            }
            let p = raw.bindMemory(to: Int8.self, capacity: size)
            packJobs.append(PackJob(tensors: tensors, packed: p, k: k))
            return UnsafePointer(p)
        }
        /// int16 activations: the bound that keeps one int32 sum from overflowing (a group's, for grouped weights).
        func qmax(_ k: Int, group: Int) -> Int32 { activations == .int16 ? ce_s16_qmax_grouped(Int32(k), Int32(group)) : 0 }
        func linear(_ names: [String], packed: Bool = true, widen: Bool = true) throws -> LinearWeight {
            let tensors = names.map { graph.weights[$0]! }
            guard tensors.allSatisfy({ $0.dtype == .i8 }) else {
                guard !tensors.contains(where: { $0.dtype == .i8 }) else { throw RuntimeError.unsupportedWeightDType(name: names[0], dtype: .i8) }
                return .f32(try floats(names))
            }
            // Grouped weights (formats/quantization.md): scales [out, groups]; validate() checked each shape.
            let ranks = Set(names.map { graph.weights[TensorName.scale(of: $0)]?.shape.rank ?? 1 })
            guard ranks.count == 1 else {
                throw GraphError.shapeMismatch(name: TensorName.scale(of: names[1]), expected: graph.weights[TensorName.scale(of: names[0])]!.shape,
                                               actual: graph.weights[TensorName.scale(of: names[1])]!.shape)
            }
            let group = ranks.first == 2 ? graph.weightGroupSize : 0
            if activations == .fp32, widen {
                // Weight-only int8: the weights widened to fp32 once, w = q·scale[row]·smooth[col]
                // (scale[row, col / group] for grouped weights).
                let n = tensors.reduce(0) { $0 + $1.shape.dims[0] }, k = tensors[0].shape.dims[1]
                let groups = group > 0 ? (k + group - 1) / group : 1
                let box = OwnedBytes(count: n * k * 4, alignment: 64)
                let dst = box.pointer.bindMemory(to: Float.self, capacity: n * k)
                var row = 0
                for (name, t) in zip(names, tensors) {
                    let sc = graph.weights[TensorName.scale(of: name)]!.floatValues()!
                    let sm = graph.weights[TensorName.smooth(of: name)]?.floatValues()
                    let q = t.storage.bytes.baseAddress!.assumingMemoryBound(to: Int8.self)
                    for r in 0..<t.shape.dims[0] {
                        for c in 0..<k { dst[(row + r) * k + c] = Float(q[r * k + c]) * sc[r * groups + (group > 0 ? c / group : 0)] * (sm?[c] ?? 1) }
                    }
                    row += t.shape.dims[0]
                }
                keep.append(box)
                return .f32(UnsafePointer(dst))
            }
            let scales = try floats(names.map(TensorName.scale(of:)))
            // Fused linears share one input, so one smoothing vector (the first's; validate() checks they agree).
            let smooth = graph.weights[TensorName.smooth(of: names[0])] != nil ? try floats([TensorName.smooth(of: names[0])]) : nil
            let n = tensors.reduce(0) { $0 + $1.shape.dims[0] }, k = tensors[0].shape.dims[1]
            if packed && (packs || group > 0) {
                // The kernel reads only the panels, packed straight from the stored row blocks (grouped weights only
                // have the packed kernel; the token embedding, gathered by row, is never packed).
                return .i8(nil, scales: scales, smooth: smooth, packed: pack(tensors, n: n, k: k), qmax: qmax(k, group: group),
                           group: Int32(group))
            }
            if tensors.count == 1 {
                // Zero-copy view (e.g. into the mmapped artifact).
                keep.append(TensorBox(tensors[0]))
                let q = tensors[0].storage.bytes.baseAddress!.assumingMemoryBound(to: Int8.self)
                return .i8(q, scales: scales, smooth: smooth, packed: nil, group: Int32(group))
            }
            let total = tensors.reduce(0) { $0 + $1.storage.bytes.count }
            let q = OwnedBytes(count: total, alignment: 64)
            var at = 0
            for t in tensors {
                (q.pointer + at).copyMemory(from: t.storage.bytes.baseAddress!, byteCount: t.storage.bytes.count)
                at += t.storage.bytes.count
            }
            keep.append(q)
            let qp = UnsafePointer(q.pointer.bindMemory(to: Int8.self, capacity: total))
            return .i8(qp, scales: scales, smooth: smooth, packed: nil, group: Int32(group))
        }
        typealias T = TensorName
        let d = graph.hyperparameters.hiddenSize
        /// A LayerNorm's or linear's bias when the graph has it.
        func optional(_ name: String) throws -> UnsafePointer<Float>? { graph.weights[name] == nil ? nil : try floats([name]) }
        /// A LayerNorm's bias, or zeros for a LayerNorm built without one (ModernBERT's norm_bias false).
        let zeros = OwnedBytes(count: d * 4, alignment: 64)
        zeros.pointer.initializeMemory(as: Float.self, repeating: 0, count: d)
        keep.append(zeros)
        let zero = UnsafePointer(zeros.pointer.assumingMemoryBound(to: Float.self))
        func normBias(_ name: String) throws -> UnsafePointer<Float> { try optional(name) ?? zero }
        tokenEmbd = try linear([T.tokenEmbedding + ".weight"], packed: false, widen: false)
        posEmbd = graph.architecture.hasPositionEmbedding ? try floats([T.positionEmbedding + ".weight"]) : nil
        typeEmbd = graph.architecture.hasTypeEmbedding ? try floats([T.typeEmbedding + ".weight"]) : nil
        embdNormW = try floats([T.embeddingNorm + ".weight"])
        embdNormB = try normBias(T.embeddingNorm + ".bias")
        if graph.hyperparameters.embeddingSize != graph.hyperparameters.hiddenSize {
            projW = try floats([T.embeddingProjection + ".weight"])
            projB = try floats([T.embeddingProjection + ".bias"])
        }
        for i in 0..<graph.hyperparameters.numHiddenLayers {
            let qkv = TensorName.attentionInputs(graph.architecture, i)
            let qkvBiases = qkv.map { $0 + ".bias" }
            blocks.append(Block(
                qkvW: try linear(qkv.map { $0 + ".weight" }),
                qkvB: graph.weights[qkvBiases[0]] == nil ? nil : try floats(qkvBiases),
                outW: try linear([T.attnOut(i) + ".weight"]), outB: try optional(T.attnOut(i) + ".bias"),
                attnNormW: try optional(T.attnNorm(i) + ".weight"), attnNormB: try normBias(T.attnNorm(i) + ".bias"),
                upW: try linear([T.ffnUp(i) + ".weight"]), upB: try optional(T.ffnUp(i) + ".bias"),
                downW: try linear([T.ffnDown(i) + ".weight"]), downB: try optional(T.ffnDown(i) + ".bias"),
                ffnNormW: try floats([T.ffnNorm(i) + ".weight"]), ffnNormB: try normBias(T.ffnNorm(i) + ".bias")))
        }
        poolW = try floats([T.classifierPool + ".weight"])
        poolB = try optional(T.classifierPool + ".bias")
        clsW = try floats([T.classifierOut + ".weight"])
        clsB = try floats([T.classifierOut + ".bias"])
        if graph.architecture == .modernbert {
            outNormW = try floats([T.outputNorm + ".weight"])
            outNormB = try normBias(T.outputNorm + ".bias")
            poolNormW = try floats([T.classifierPoolNorm + ".weight"])
            poolNormB = try normBias(T.classifierPoolNorm + ".bias")
        }
        // Packing is most of the load time of an int8 artifact; the linears are independent. Once packed,
        // a linear's stored rows are not read again: pages of a mapped file are handed back, so the weights
        // are resident once (as panels), not twice.
        if let arena {
            arena.trim()
            keep.append(arena)
        }
        let jobs = UncheckedSendable(packJobs)
        Kernels.parallelTasks(packJobs.count) { j, _ in
            let job = jobs.value[j]
            let blocks = job.tensors.map { $0.storage.bytes.baseAddress?.assumingMemoryBound(to: Int8.self) }
            let rows = job.tensors.map { Int32($0.shape.dims[0]) }
            ce_qgemm_pack_s8_blocks(blocks, rows, Int32(rows.count), job.packed, Int32(job.k))
            for t in job.tensors { t.storage.releaseMappedPages() }
        }
        self.keep = keep
    }
}

private struct PackJob {
    let tensors: [Tensor]
    let packed: UnsafeMutablePointer<Int8>
    let k: Int
}

private final class TensorBox {
    let tensor: Tensor
    init(_ t: Tensor) { tensor = t }
}

/// Scratch memory for a given token capacity. Grown only when a call needs more than any before.
final class Workspace {
    private(set) var tokenCapacity = 0
    private(set) var sequenceCapacity = 0
    /// Workers the attention scratch was sized for (one s·s block each).
    private(set) var workerCapacity = 0
    private var box: OwnedBytes?
    var x, qkv, ctx, tmp, ffn, scores, cls, pooled: UnsafeMutablePointer<Float>!
    /// [tokens, embedding]: the embeddings before ELECTRA's projection (unused when embedding == hidden).
    var emb: UnsafeMutablePointer<Float>!
    /// [tokens, intermediate]: the gated feed-forward activations act(u)·g (ModernBERT; unused elsewhere).
    var gatedOut: UnsafeMutablePointer<Float>!
    /// int8 path: quantized activations [tokens, max(hidden, intermediate)], their row scales, int32 sums.
    var int8: Kernels.Int8Scratch!
    let hidden: Int, intermediate: Int, embedding: Int
    /// Whether the feed-forward block is gated: ffn_up then yields 2·intermediate columns (ModernBERT).
    let gated: Bool

    init(hidden: Int, intermediate: Int, embedding: Int, gated: Bool = false) {
        self.hidden = hidden
        self.intermediate = intermediate
        self.embedding = embedding
        self.gated = gated
    }

    /// Columns of ffn_up's output.
    var ffnWidth: Int { gated ? 2 * intermediate : intermediate }

    /// Attention scratch of one worker for sequences up to `s` tokens (head size ≤ hidden).
    func attentionBlock(_ s: Int) -> Int { Kernels.attentionScratch(len: s, headDim: hidden) }

    /// Ensures room for `tokens` packed tokens, sequences up to `longest`, and `batch` sequences.
    func reserve(tokens: Int, longest: Int, batch: Int) {
        guard tokens > tokenCapacity || longest > sequenceCapacity || batch > sequenceCapacity || Kernels.threads > workerCapacity else { return }
        let t = max(tokens, tokenCapacity), s = max(longest, batch, sequenceCapacity)
        let sizes = [t * hidden, t * 3 * hidden, t * hidden, t * hidden, t * ffnWidth, attentionBlock(s) * Kernels.threads, s * hidden, s * hidden,
                     embedding == hidden ? 0 : t * embedding, gated ? t * intermediate : 0]
        let padded = sizes.map { ($0 + 15) / 16 * 16 }
        let b = OwnedBytes(count: padded.reduce(0, +) * 4, alignment: 64)
        var p = b.pointer.bindMemory(to: Float.self, capacity: padded.reduce(0, +))
        var ptrs: [UnsafeMutablePointer<Float>] = []
        for n in padded { ptrs.append(p); p += n }
        (x, qkv, ctx, tmp, ffn, scores, cls, pooled) = (ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5], ptrs[6], ptrs[7])
        emb = embedding == hidden ? x : ptrs[8]
        gatedOut = ptrs[9]
        box = b
        int8 = Kernels.Int8Scratch(rows: t, maxK: max(hidden, intermediate), maxN: max(3 * hidden, ffnWidth))
        tokenCapacity = t
        sequenceCapacity = s
        workerCapacity = Kernels.threads
    }
}

/// Runs the canonical graph in fp32. Sequences are packed without padding: linear layers see only real
/// tokens, and attention runs per sequence over its own tokens.
public final class Executor: @unchecked Sendable {
    public let graph: Graph
    let weights: PlannedWeights
    /// Called with the input of every encoder linear (canonical weight name, [rows, cols] fp32) before
    /// it is multiplied; for calibration. Nil in normal runs.
    public var observer: ((String, UnsafePointer<Float>, Int, Int) -> Void)?
    let workspace: Workspace
    private let lock = NSLock()

    /// One int8 token-embedding row widened to fp32 (formats/quantization.md): row[j] = q[id, j]·scale[id, j / group]
    /// with scales [vocab, ceil(width / group)]; `group` 0 is one scale per row (a single group of `width`). One fp32
    /// multiply each.
    static func widenEmbeddingRow(_ table: UnsafePointer<Int8>, _ scales: UnsafePointer<Float>, id: Int, width: Int, group: Int,
                                  into row: UnsafeMutablePointer<Float>) {
        let q = table + id * width, group = group > 0 ? group : width
        let groups = (width + group - 1) / group, sc = scales + id * groups
        for g in 0..<groups {
            let s = sc[g]
            for j in g * group..<min(width, (g + 1) * group) { row[j] = Float(q[j]) * s }
        }
    }

    /// `int8Activations` false runs int8 linears as weight-only quantization (weights widened to fp32 at
    /// load); true (default) quantizes their inputs per row to int8 at run time.
    public convenience init(graph: Graph, int8Activations: Bool = true) throws {
        try self.init(graph: graph, activations: int8Activations ? .int8 : .fp32)
    }

    /// `activations`: how int8 linears compute (ActivationMode); fp32 and fp16 weights ignore it.
    public init(graph: Graph, activations: ActivationMode) throws {
        try graph.validate()
        self.graph = graph
        weights = try PlannedWeights(graph: graph, activations: activations)
        PhaseTrace.mark("weights planned")
        workspace = Workspace(hidden: graph.hyperparameters.hiddenSize, intermediate: graph.hyperparameters.intermediateSize,
                              embedding: graph.hyperparameters.embeddingSize, gated: graph.architecture == .modernbert)
        if let m = graph.hyperparameters.modernBERT {
            rotary = [.global: RotaryTable(theta: m.globalRopeTheta, headDim: graph.hyperparameters.headDim),
                      .local: RotaryTable(theta: m.localRopeTheta, headDim: graph.hyperparameters.headDim)]
        }
    }

    /// ModernBERT's cos/sin tables per attention span, grown to the longest sequence seen.
    var rotary: [AttentionSpan: RotaryTable] = [:]

    /// Tokens one pass through the layers holds at most (unless one sequence alone is longer): larger
    /// batches run as consecutive passes, so activation memory stays bounded (about 13 KB per token for
    /// MiniLM-L6 with the chunked feed-forward block) whatever batch size the caller asks for. 512 rows
    /// keep the int8 GEMMs near full speed: on the bench's main set at batch 32, 2,048 ran about 4 %
    /// faster by median of four runs (within this machine's run-to-run noise) for 36 MB more peak RSS.
    public var tokensPerPass = 512

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

    private func pass(_ sequences: [TokenSequence], firstIndex: Int) throws -> [[Float]] {
        let h = graph.hyperparameters
        let arch = graph.architecture
        let limit = graph.maxSequenceLength
        var offsets = [Int](), total = 0, longest = 0
        for (i, s) in sequences.enumerated() {
            guard !s.ids.isEmpty, s.ids.count == s.typeIDs.count else { throw RuntimeError.emptySequence(index: firstIndex + i) }
            guard s.ids.count <= limit else { throw RuntimeError.sequenceTooLong(length: s.ids.count, limit: limit) }
            for id in s.ids where id < 0 || Int(id) >= h.vocabSize { throw RuntimeError.tokenOutOfRange(id: id, vocabSize: h.vocabSize) }
            // Type ids reach only models that read them (BERT, ELECTRA); RoBERTa and DistilBERT ignore them, as
            // transformers does when the tokenizer does not return them.
            if arch.usesTokenTypeIDs {
                for t in s.typeIDs where t < 0 || Int(t) >= h.typeVocabSize { throw RuntimeError.typeOutOfRange(id: t, typeVocabSize: h.typeVocabSize) }
            }
            offsets.append(total)
            total += s.ids.count
            longest = max(longest, s.ids.count)
        }
        if sequences.isEmpty { return [] }
        lock.lock()
        defer { lock.unlock() }
        let ws = workspace
        ws.reserve(tokens: total, longest: longest, batch: sequences.count)
        if arch == .modernbert { return modernBERTPass(sequences, offsets: offsets, total: total, longest: longest) }
        let d = h.hiddenSize, f = h.intermediateSize, eps = h.layerNormEps, e = h.embeddingSize
        let w = weights
        let first = graph.firstPosition, padID: Int32 = arch == .roberta ? Int32(h.padTokenID) : -1

        // embed: x[t] = token_embd[id] + pos_embd[position] + type_embd[type]; LayerNorm. [tokens, embedding]
        Kernels.parallelTasks(sequences.count) { b, _ in
            let s = sequences[b]
            // Graph.positions(of:) without the array: RoBERTa's pad tokens sit at padTokenID, the others
            // count up from firstPosition; elsewhere (padID −1 never matches) positions are 0, 1, 2, ….
            var count = 0
            for p in 0..<s.ids.count {
                let row = ws.emb + (offsets[b] + p) * e
                let position: Int
                if s.ids[p] == padID { position = h.padTokenID } else { position = first + count; count += 1 }
                let pe = w.posEmbd! + position * e
                switch w.tokenEmbd {
                case .f32(let table):
                    let te = table + Int(s.ids[p]) * e
                    for j in 0..<e { row[j] = te[j] + pe[j] }
                case .i8(let table, let scales, _, _, _, let group):
                    Executor.widenEmbeddingRow(table!, scales, id: Int(s.ids[p]), width: e, group: Int(group), into: row)
                    for j in 0..<e { row[j] += pe[j] }
                }
                if let types = w.typeEmbd {
                    let ty = types + (arch.usesTokenTypeIDs ? Int(s.typeIDs[p]) : 0) * e
                    for j in 0..<e { row[j] += ty[j] }
                }
            }
        }
        Kernels.layerNorm(ws.emb, rows: total, n: e, gamma: w.embdNormW, beta: w.embdNormB, eps: eps)
        if let projW = w.projW, let projB = w.projB {
            // ELECTRA embeddings_project: [tokens, embedding] -> [tokens, hidden]
            Kernels.linear(ws.emb, projW, projB, ws.x, m: total, n: d, k: e)
        }

        for (i, blk) in w.blocks.enumerated() {
            observer?(TensorName.attnQ(i) + ".weight", ws.x, total, d)
            Kernels.linear(ws.x, blk.qkvW, blk.qkvB, ws.qkv, m: total, n: 3 * d, k: d, scratch: ws.int8)
            // One (sequence, head) per task, longest sequences first (the caller sorts), a scratch block per
            // worker: a single long sequence still keeps every worker busy.
            let block = ws.attentionBlock(ws.sequenceCapacity)
            let heads = h.numAttentionHeads, dh = h.headDim
            Kernels.parallelTasks(sequences.count * heads) { t, worker in
                let b = t / heads, off = (t % heads) * dh
                let base = ws.qkv + offsets[b] * 3 * d + off
                Kernels.attention(q: base, k: base + d, v: base + 2 * d, ld: 3 * d,
                                  out: ws.ctx + offsets[b] * d + off, ldOut: d, len: sequences[b].ids.count,
                                  heads: 1, headDim: dh, scratch: ws.scores + worker * block)
            }
            observer?(TensorName.attnOut(i) + ".weight", ws.ctx, total, d)
            Kernels.linear(ws.ctx, blk.outW, blk.outB, ws.tmp, m: total, n: d, k: d, scratch: ws.int8)
            Kernels.addLayerNorm(ws.x, ws.tmp, rows: total, n: d, gamma: blk.attnNormW!, beta: blk.attnNormB!, eps: eps)
            observer?(TensorName.ffnUp(i) + ".weight", ws.x, total, d)
            // The feed-forward block in row chunks: its [rows, intermediate] activations are the widest of
            // the layer, and only a chunk of them is ever resident. Calibration observes whole passes.
            let chunk = observer == nil ? ffnChunkRows : total
            for r0 in stride(from: 0, to: total, by: chunk) {
                let rows = min(chunk, total - r0)
                Kernels.linear(ws.x + r0 * d, blk.upW, blk.upB, ws.ffn, m: rows, n: f, k: d, scratch: ws.int8)
                switch h.hiddenAct {
                case .gelu: Kernels.gelu(ws.ffn, count: rows * f)
                case .geluTanh: Kernels.geluTanh(ws.ffn, count: rows * f)
                case .relu: Kernels.relu(ws.ffn, count: rows * f)
                }
                observer?(TensorName.ffnDown(i) + ".weight", ws.ffn, rows, f)
                Kernels.linear(ws.ffn, blk.downW, blk.downB, ws.tmp + r0 * d, m: rows, n: d, k: f, scratch: ws.int8)
            }
            Kernels.addLayerNorm(ws.x, ws.tmp, rows: total, n: d, gamma: blk.ffnNormW, beta: blk.ffnNormB, eps: eps)
        }

        // head: first token of each sequence
        let n = sequences.count
        for b in 0..<n { (ws.cls + b * d).update(from: ws.x + offsets[b] * d, count: d) }
        // cls.pool then the architecture's activation: BERT pooler / RoBERTa classifier.dense (tanh),
        // DistilBERT pre_classifier (ReLU), ELECTRA classifier.dense (GELU).
        Kernels.linear(ws.cls, w.poolW, w.poolB, ws.pooled, m: n, n: d, k: d)
        activate(ws.pooled, count: n * d, graph.poolActivation)
        let features = UnsafePointer(ws.pooled!)
        let labels = h.numLabels
        var out = [Float](repeating: 0, count: n * labels)
        out.withUnsafeMutableBufferPointer { Kernels.linear(features, w.clsW, w.clsB, $0.baseAddress!, m: n, n: labels, k: d) }
        return (0..<n).map { Array(out[($0 * labels)..<(($0 + 1) * labels)]) }
    }

    /// The activation between cls.pool and cls.out (cls.pool_norm for ModernBERT), in place.
    private func activate(_ x: UnsafeMutablePointer<Float>, count: Int, _ a: PoolActivation) {
        switch a {
        case .tanh: Kernels.tanhInPlace(x, count: count)
        case .relu: Kernels.relu(x, count: count)
        case .gelu: Kernels.gelu(x, count: count)
        case .geluTanh: Kernels.geluTanh(x, count: count)
        }
    }

    /// ModernBERT (transformers ModernBertForSequenceClassification): the sequences packed as in `pass`, each at
    /// positions 0..<len. Called with the lock held and the workspace reserved.
    private func modernBERTPass(_ sequences: [TokenSequence], offsets: [Int], total: Int, longest: Int) -> [[Float]] {
        let h = graph.hyperparameters, m = h.modernBERT!
        let ws = workspace, w = weights
        let d = h.hiddenSize, f = h.intermediateSize, eps = h.layerNormEps, heads = h.numAttentionHeads, dh = h.headDim
        for table in rotary.values { table.reserve(longest) }

        // embeddings: x[t] = token_embd[id], then LayerNorm (embeddings.norm). [tokens, hidden]
        Kernels.parallelTasks(sequences.count) { b, _ in
            let s = sequences[b]
            for p in 0..<s.ids.count {
                let row = ws.x + (offsets[b] + p) * d, id = Int(s.ids[p])
                switch w.tokenEmbd {
                case .f32(let table): row.update(from: table + id * d, count: d)
                case .i8(let table, let scales, _, _, _, let group):
                    Executor.widenEmbeddingRow(table!, scales, id: id, width: d, group: Int(group), into: row)
                }
            }
        }
        Kernels.layerNorm(ws.x, rows: total, n: d, gamma: w.embdNormW, beta: w.embdNormB, eps: eps)

        for (i, blk) in w.blocks.enumerated() {
            // h = attn_norm(x), or x itself in block 0 (nn.Identity). [tokens, hidden] in tmp
            ws.tmp.update(from: ws.x, count: total * d)
            if let g = blk.attnNormW { Kernels.layerNorm(ws.tmp, rows: total, n: d, gamma: g, beta: blk.attnNormB!, eps: eps) }
            observer?(TensorName.attnQKV(i) + ".weight", ws.tmp, total, d)
            Kernels.linear(ws.tmp, blk.qkvW, blk.qkvB, ws.qkv, m: total, n: 3 * d, k: d, scratch: ws.int8)
            let span = m.layerTypes[i]
            let table = rotary[span]!
            // Rotary positions on q and k of each sequence, its tokens at 0..<len.
            Kernels.parallelTasks(sequences.count) { b, _ in
                let base = ws.qkv + offsets[b] * 3 * d, len = sequences[b].ids.count
                Kernels.rotary(base, ld: 3 * d, len: len, heads: heads, headDim: dh, cos: table.cos, sin: table.sin)
                Kernels.rotary(base + d, ld: 3 * d, len: len, heads: heads, headDim: dh, cos: table.cos, sin: table.sin)
            }
            let block = ws.attentionBlock(ws.sequenceCapacity)
            let window = m.halfWindow
            Kernels.parallelTasks(sequences.count * heads) { t, worker in
                let b = t / heads, off = (t % heads) * dh
                let base = ws.qkv + offsets[b] * 3 * d + off
                let out = ws.ctx + offsets[b] * d + off, len = sequences[b].ids.count
                if span == .local {
                    Kernels.localAttention(q: base, k: base + d, v: base + 2 * d, ld: 3 * d, out: out, ldOut: d, len: len,
                                           headDim: dh, window: window, scratch: ws.scores + worker * block)
                } else {
                    Kernels.attention(q: base, k: base + d, v: base + 2 * d, ld: 3 * d, out: out, ldOut: d, len: len,
                                      heads: 1, headDim: dh, scratch: ws.scores + worker * block)
                }
            }
            observer?(TensorName.attnOut(i) + ".weight", ws.ctx, total, d)
            Kernels.linear(ws.ctx, blk.outW, blk.outB, ws.tmp, m: total, n: d, k: d, scratch: ws.int8)
            Kernels.add(ws.x, ws.tmp, count: total * d)

            // x += Wo(act(u) · g), [u g] = Wi(mlp_norm(x)); in row chunks as the post-norm block.
            ws.tmp.update(from: ws.x, count: total * d)
            Kernels.layerNorm(ws.tmp, rows: total, n: d, gamma: blk.ffnNormW, beta: blk.ffnNormB, eps: eps)
            observer?(TensorName.ffnUp(i) + ".weight", ws.tmp, total, d)
            let chunk = observer == nil ? ffnChunkRows : total
            for r0 in stride(from: 0, to: total, by: chunk) {
                let rows = min(chunk, total - r0)
                Kernels.linear(ws.tmp + r0 * d, blk.upW, blk.upB, ws.ffn, m: rows, n: 2 * f, k: d, scratch: ws.int8)
                Kernels.gated(ws.ffn, ws.gatedOut, rows: rows, n: f, act: h.hiddenAct)
                observer?(TensorName.ffnDown(i) + ".weight", ws.gatedOut, rows, f)
                Kernels.linear(ws.gatedOut, blk.downW, blk.downB, ws.ctx + r0 * d, m: rows, n: d, k: f, scratch: ws.int8)
            }
            Kernels.add(ws.x, ws.ctx, count: total * d)
        }
        Kernels.layerNorm(ws.x, rows: total, n: d, gamma: w.outNormW!, beta: w.outNormB!, eps: eps)

        // head: [CLS] state or the mean over the sequence's tokens, dense -> activation -> LayerNorm -> classifier.
        let n = sequences.count
        for b in 0..<n {
            let dst = ws.cls + b * d, src = ws.x + offsets[b] * d
            switch m.classifierPooling {
            case .cls: dst.update(from: src, count: d)
            case .mean:
                // transformers: (h · mask).sum(1) / mask.sum(1) in fp32; summed here in double, then divided in fp32.
                let len = sequences[b].ids.count
                for j in 0..<d {
                    var acc = 0.0
                    for t in 0..<len { acc += Double(src[t * d + j]) }
                    dst[j] = Float(acc) / Float(len)
                }
            }
        }
        Kernels.linear(ws.cls, w.poolW, w.poolB, ws.pooled, m: n, n: d, k: d)
        activate(ws.pooled, count: n * d, m.classifierActivation)
        Kernels.layerNorm(ws.pooled, rows: n, n: d, gamma: w.poolNormW!, beta: w.poolNormB!, eps: eps)
        let labels = h.numLabels
        var out = [Float](repeating: 0, count: n * labels)
        out.withUnsafeMutableBufferPointer { Kernels.linear(UnsafePointer(ws.pooled!), w.clsW, w.clsB, $0.baseAddress!, m: n, n: labels, k: d) }
        return (0..<n).map { Array(out[($0 * labels)..<(($0 + 1) * labels)]) }
    }
}

/// cos and sin of ModernBERT's rotary angles for positions 0..<count, [count, headDim / 2] each, in fp32 as
/// transformers' ModernBertRotaryEmbedding computes them: inv_j = 1 / θ^(2j / dh) (the exponent 2j / dh and the
/// reciprocal in fp32; the power rounded once from double, which torch's fp32 pow, not correctly rounded, can miss by
/// an ulp or two; bit-identical on every frequency the config goldens record),
/// angle = fp32(position · inv_j), then cos and sin rounded to fp32.
final class RotaryTable: @unchecked Sendable {
    let theta: Double
    let headDim: Int
    /// [headDim / 2]
    let inverseFrequencies: [Float]
    private(set) var count = 0
    private(set) var cos: UnsafeMutablePointer<Float>
    private(set) var sin: UnsafeMutablePointer<Float>

    init(theta: Double, headDim: Int) {
        self.theta = theta
        self.headDim = headDim
        inverseFrequencies = (0..<(headDim / 2)).map { j in
            let exponent = Float(2 * j) / Float(headDim)
            return 1 / Float(Foundation.pow(theta, Double(exponent)))
        }
        cos = .allocate(capacity: 1)
        sin = .allocate(capacity: 1)
    }

    deinit { cos.deallocate(); sin.deallocate() }

    /// Grows the tables to at least `positions` rows.
    func reserve(_ positions: Int) {
        guard positions > count else { return }
        let n = max(positions, 2 * count), half = headDim / 2
        let c = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n * half)), s = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n * half))
        for p in 0..<n {
            for j in 0..<half {
                let angle = Float(p) * inverseFrequencies[j]
                c[p * half + j] = Float(Foundation.cos(Double(angle)))
                s[p * half + j] = Float(Foundation.sin(Double(angle)))
            }
        }
        cos.deallocate(); sin.deallocate()
        cos = c
        sin = s
        count = n
    }
}
