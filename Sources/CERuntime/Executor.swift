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

/// How int8 linears compute (the artifact plan's `activations`): inputs quantized per row at run time to
/// int8 or to int16, or the int8 weights widened to fp32 at load (weight-only).
public enum ActivationMode: String, Sendable {
    case int8, int16, fp32
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
                let pe = w.embedding.positions! + position * e
                switch w.embedding.tokens {
                case .f32(let table):
                    let te = table + Int(s.ids[p]) * e
                    for j in 0..<e { row[j] = te[j] + pe[j] }
                case .int8(let table, let scales, let group):
                    Executor.widenEmbeddingRow(table, scales, id: Int(s.ids[p]), width: e, group: group, into: row)
                    for j in 0..<e { row[j] += pe[j] }
                }
                if let types = w.embedding.types {
                    let ty = types + (arch.usesTokenTypeIDs ? Int(s.typeIDs[p]) : 0) * e
                    for j in 0..<e { row[j] += ty[j] }
                }
            }
        }
        Kernels.layerNorm(ws.emb, rows: total, n: e, gamma: w.embedding.norm.gamma, beta: w.embedding.norm.beta, eps: eps)
        if let (projW, projB) = w.embedding.projection {
            // ELECTRA embeddings_project: [tokens, embedding] -> [tokens, hidden]
            Kernels.linear(ws.emb, projW, projB, ws.x, m: total, n: d, k: e)
        }

        for (i, blk) in w.blocks.enumerated() {
            observer?(TensorName.attnQ(i) + ".weight", ws.x, total, d)
            Kernels.linear(ws.x, blk.qkv, ws.qkv, m: total, n: 3 * d, k: d, scratch: ws.int8)
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
            Kernels.linear(ws.ctx, blk.out, ws.tmp, m: total, n: d, k: d, scratch: ws.int8)
            Kernels.addLayerNorm(ws.x, ws.tmp, rows: total, n: d, gamma: blk.attnNorm!.gamma, beta: blk.attnNorm!.beta, eps: eps)
            observer?(TensorName.ffnUp(i) + ".weight", ws.x, total, d)
            // The feed-forward block in row chunks: its [rows, intermediate] activations are the widest of
            // the layer, and only a chunk of them is ever resident. Calibration observes whole passes.
            let chunk = observer == nil ? ffnChunkRows : total
            for r0 in stride(from: 0, to: total, by: chunk) {
                let rows = min(chunk, total - r0)
                Kernels.linear(ws.x + r0 * d, blk.up, ws.ffn, m: rows, n: f, k: d, scratch: ws.int8)
                switch h.hiddenAct {
                case .gelu: Kernels.gelu(ws.ffn, count: rows * f)
                case .geluTanh: Kernels.geluTanh(ws.ffn, count: rows * f)
                case .relu: Kernels.relu(ws.ffn, count: rows * f)
                }
                observer?(TensorName.ffnDown(i) + ".weight", ws.ffn, rows, f)
                Kernels.linear(ws.ffn, blk.down, ws.tmp + r0 * d, m: rows, n: d, k: f, scratch: ws.int8)
            }
            Kernels.addLayerNorm(ws.x, ws.tmp, rows: total, n: d, gamma: blk.ffnNorm.gamma, beta: blk.ffnNorm.beta, eps: eps)
        }

        // head: first token of each sequence
        let n = sequences.count
        for b in 0..<n { (ws.cls + b * d).update(from: ws.x + offsets[b] * d, count: d) }
        // cls.pool then the architecture's activation: BERT pooler / RoBERTa classifier.dense (tanh),
        // DistilBERT pre_classifier (ReLU), ELECTRA classifier.dense (GELU).
        Kernels.linear(ws.cls, w.head.pool.weight, w.head.pool.bias, ws.pooled, m: n, n: d, k: d)
        activate(ws.pooled, count: n * d, graph.poolActivation)
        let features = UnsafePointer(ws.pooled!)
        let labels = h.numLabels
        var out = [Float](repeating: 0, count: n * labels)
        out.withUnsafeMutableBufferPointer { Kernels.linear(features, w.head.classifier.weight, w.head.classifier.bias, $0.baseAddress!, m: n, n: labels, k: d) }
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
                switch w.embedding.tokens {
                case .f32(let table): row.update(from: table + id * d, count: d)
                case .int8(let table, let scales, let group):
                    Executor.widenEmbeddingRow(table, scales, id: id, width: d, group: group, into: row)
                }
            }
        }
        Kernels.layerNorm(ws.x, rows: total, n: d, gamma: w.embedding.norm.gamma, beta: w.embedding.norm.beta, eps: eps)

        for (i, blk) in w.blocks.enumerated() {
            // h = attn_norm(x), or x itself in block 0 (nn.Identity). [tokens, hidden] in tmp
            ws.tmp.update(from: ws.x, count: total * d)
            if let g = blk.attnNorm { Kernels.layerNorm(ws.tmp, rows: total, n: d, gamma: g.gamma, beta: g.beta, eps: eps) }
            observer?(TensorName.attnQKV(i) + ".weight", ws.tmp, total, d)
            Kernels.linear(ws.tmp, blk.qkv, ws.qkv, m: total, n: 3 * d, k: d, scratch: ws.int8)
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
            Kernels.linear(ws.ctx, blk.out, ws.tmp, m: total, n: d, k: d, scratch: ws.int8)
            Kernels.add(ws.x, ws.tmp, count: total * d)

            // x += Wo(act(u) · g), [u g] = Wi(mlp_norm(x)); in row chunks as the post-norm block.
            ws.tmp.update(from: ws.x, count: total * d)
            Kernels.layerNorm(ws.tmp, rows: total, n: d, gamma: blk.ffnNorm.gamma, beta: blk.ffnNorm.beta, eps: eps)
            observer?(TensorName.ffnUp(i) + ".weight", ws.tmp, total, d)
            let chunk = observer == nil ? ffnChunkRows : total
            for r0 in stride(from: 0, to: total, by: chunk) {
                let rows = min(chunk, total - r0)
                Kernels.linear(ws.tmp + r0 * d, blk.up, ws.ffn, m: rows, n: 2 * f, k: d, scratch: ws.int8)
                Kernels.gated(ws.ffn, ws.gatedOut, rows: rows, n: f, act: h.hiddenAct)
                observer?(TensorName.ffnDown(i) + ".weight", ws.gatedOut, rows, f)
                Kernels.linear(ws.gatedOut, blk.down, ws.ctx + r0 * d, m: rows, n: d, k: f, scratch: ws.int8)
            }
            Kernels.add(ws.x, ws.ctx, count: total * d)
        }
        Kernels.layerNorm(ws.x, rows: total, n: d, gamma: w.head.outputNorm!.gamma, beta: w.head.outputNorm!.beta, eps: eps)

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
        Kernels.linear(ws.cls, w.head.pool.weight, w.head.pool.bias, ws.pooled, m: n, n: d, k: d)
        activate(ws.pooled, count: n * d, m.classifierActivation)
        Kernels.layerNorm(ws.pooled, rows: n, n: d, gamma: w.head.poolNorm!.gamma, beta: w.head.poolNorm!.beta, eps: eps)
        let labels = h.numLabels
        var out = [Float](repeating: 0, count: n * labels)
        out.withUnsafeMutableBufferPointer { Kernels.linear(UnsafePointer(ws.pooled!), w.head.classifier.weight, w.head.classifier.bias, $0.baseAddress!, m: n, n: labels, k: d) }
        return (0..<n).map { Array(out[($0 * labels)..<(($0 + 1) * labels)]) }
    }
}
