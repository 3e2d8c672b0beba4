import CECore
import CEGraph
import CEKernels

/// A linear layer's weight [out, in] as the kernels take it. Which int8 case a weight is in is decided at load
/// (`WeightPlanner.linear`) and never changes.
enum LinearWeight {
    case f32(UnsafePointer<Float>)
    /// int8 [out, in] row-major for ce_qgemm_s8 (int8 activations on machines without the packed fp32 path).
    case int8RowMajor(Int8RowMajor)
    /// int8 panels for ce_qgemm_packed_f32 / ce_qgemm_packed_grouped_f32 (formats/quantization.md).
    case int8Packed(Int8Packed)
    /// int8 quad panels for ce_qgemm_u8s8_f32: inputs quantized per row to int8, u8 × s8 (vpdpbusd where the CPU has it).
    case int8Quads(Int8Quads)
}

/// The weights of a linear whose inputs are int8 (`ActivationMode.int8`), as the u8 × s8 kernel takes them.
struct Int8Quads {
    let panels: UnsafePointer<Int8>        // ce_qgemm_u8_packed_size(out, in) bytes
    /// 128 · Σ w per output column (and group): [out] when `group` is 0, else [out, ceil(in / group)].
    let corrections: UnsafePointer<Int32>
    let scales: UnsafePointer<Float>       // as Int8Packed's
    let smooth: UnsafePointer<Float>?      // [in]
    let group: Int32
    /// Activation scales per input row: 1, or ceil(in / group) for `int8_grouped` (one per row and weight group).
    let activationGroups: Int32
}

/// How each int8 linear's input is quantized at run time (the artifact plan's `activations`, formats/artifact.md):
/// one mode for every linear, or one per linear. A linear is named by its first weight's canonical name without
/// ".weight" (`blk.0.attn_q` stands for the fused Q, K, V; ModernBERT's `blk.0.attn_qkv`).
public struct ActivationPlan: Sendable, Equatable {
    /// The mode of every linear not in `perLinear`; nil: every int8 linear must be listed there.
    public var base: ActivationMode?
    public var perLinear: [String: ActivationMode]

    public init(_ mode: ActivationMode) {
        base = mode
        perLinear = [:]
    }

    public init(perLinear: [String: ActivationMode]) {
        base = nil
        self.perLinear = perLinear
    }

    /// The mode of `linear`; nil when the plan has none for it.
    public func mode(_ linear: String) -> ActivationMode? { perLinear[linear] ?? base }
}

/// Per-output-channel symmetric int8: w[r, c] = q[r, c]·scales[r]·smooth[c] (smooth 1 when nil).
struct Int8RowMajor {
    let q: UnsafePointer<Int8>        // [out, in]
    let scales: UnsafePointer<Float>  // [out]
    /// [in]: SmoothQuant factors the input is multiplied by before it is quantized.
    let smooth: UnsafePointer<Float>?
}

/// The same weights as panels; the row-major bytes are not kept.
struct Int8Packed {
    let panels: UnsafePointer<Int8>   // ce_qgemm_packed_size(out, in) bytes
    /// [out] when `group` is 0, else [out, ceil(in / group)].
    let scales: UnsafePointer<Float>
    let smooth: UnsafePointer<Float>? // [in]
    /// > 0: inputs quantized per row to int16 in ±qmax (ce_s16_qmax_grouped); 0: to int8.
    let qmax: Int32
    /// Input positions per scale; 0: one scale per output channel.
    let group: Int32
}

/// A linear layer: weight [out, in] and optional bias [out].
struct Linear {
    let weight: LinearWeight
    let bias: UnsafePointer<Float>?
}

/// A LayerNorm's γ and β [n]; β is zeros for a LayerNorm without bias (ModernBERT's norm_bias false).
struct Norm {
    let gamma: UnsafePointer<Float>
    let beta: UnsafePointer<Float>
}

/// The token embedding table [vocab, E]: fp32, or fp16, bf16 or int8 rows widened one at a time as they are gathered
/// (never widened whole: a vocabulary of 150k rows would otherwise be resident twice, as stored and as fp32).
enum EmbeddingTable {
    case f32(UnsafePointer<Float>)
    /// IEEE binary16 bits.
    case f16(UnsafePointer<UInt16>)
    /// bfloat16 bits (the high half of an fp32).
    case bf16(UnsafePointer<UInt16>)
    /// scales [vocab] when `group` is 0, else [vocab, ceil(E / group)].
    case int8(UnsafePointer<Int8>, scales: UnsafePointer<Float>, group: Int)

    /// row [width] = table[id] as fp32.
    func gather(_ id: Int, width: Int, into row: UnsafeMutablePointer<Float>) {
        switch self {
        case .f32(let t): row.update(from: t + id * width, count: width)
        case .f16(let t): ce_f16_to_f32(t + id * width, row, width)
        case .bf16(let t):
            let r = t + id * width
            for j in 0..<width { row[j] = Float(bitPattern: UInt32(r[j]) << 16) }
        case .int8(let t, let scales, let group): widenRow(t, scales, id: id, width: width, group: group, into: row)
        }
    }
}

/// `embed`, `embedTokens` and `projectEmbeddings`.
struct EmbeddingWeights {
    let tokens: EmbeddingTable
    /// [maxPositions, E]; nil for ModernBERT (rotary positions).
    let positions: UnsafePointer<Float>?
    /// [typeVocab, E]; nil for DistilBERT and ModernBERT.
    let types: UnsafePointer<Float>?
    let norm: Norm
    /// ELECTRA's embeddings_project [hidden, E] + [hidden]; DeBERTa-v2's embed_proj, no bias; nil when E == hidden.
    let projection: (weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?)?

    init(_ p: WeightPlanner) throws {
        typealias T = TensorName
        let a = p.graph.architecture, h = p.graph.hyperparameters
        tokens = try p.embeddingTable(T.tokenEmbedding.weight)
        // DeBERTa-v2's tables exist as its config says (TensorName.required); validate() left no other.
        let deberta = a == .debertaV2
        positions = a.hasPositionEmbedding || (deberta && p.graph.weights[T.positionEmbedding.weight] != nil)
            ? try p.floats([T.positionEmbedding.weight]) : nil
        types = a.hasTypeEmbedding || (deberta && p.graph.weights[T.typeEmbedding.weight] != nil) ? try p.floats([T.typeEmbedding.weight]) : nil
        norm = try p.norm(T.embeddingNorm)
        projection = h.embeddingSize == h.hiddenSize ? nil
            : (try p.floats([T.embeddingProjection.weight]), try p.optional(T.embeddingProjection.bias))
    }
}

/// One encoder block, post-norm (`encoderBlock`) or pre-norm (`preNormBlock`).
struct BlockWeights {
    /// [3·hidden, hidden]: attn_q, attn_k, attn_v stacked, or ModernBERT's attn_qkv.
    let qkv: Linear
    let out: Linear        // [hidden, hidden]
    /// nil only in ModernBERT's block 0 (nn.Identity before its attention).
    let attnNorm: Norm?
    let up: Linear         // [intermediate, hidden]; ModernBERT [2·intermediate, hidden]
    let down: Linear       // [hidden, intermediate]
    let ffnNorm: Norm

    init(_ p: WeightPlanner, block i: Int) throws {
        typealias T = TensorName
        let qkv = T.attentionInputs(p.graph.architecture, i)
        let qkvBiases = qkv.map { $0.bias }
        self.qkv = Linear(weight: try p.linear(qkv.map { $0.weight }),
                          bias: p.graph.weights[qkvBiases[0]] == nil ? nil : try p.floats(qkvBiases))
        out = try p.linear(named: T.attnOut(i))
        attnNorm = p.graph.weights[T.attnNorm(i).weight] == nil ? nil : try p.norm(T.attnNorm(i))
        up = try p.linear(named: T.ffnUp(i))
        down = try p.linear(named: T.ffnDown(i))
        ffnNorm = try p.norm(T.ffnNorm(i))
    }
}

/// `poolFirstToken` / `poolHead`, `outputNorm` and `classify`: fp32 whatever the artifact's dtype.
struct HeadWeights {
    let pool: (weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?)   // [hidden, hidden]
    let classifier: (weight: UnsafePointer<Float>, bias: UnsafePointer<Float>)  // [numLabels, hidden]
    /// ModernBERT's final_norm and head.norm; nil elsewhere.
    let outputNorm: Norm?, poolNorm: Norm?

    init(_ p: WeightPlanner) throws {
        typealias T = TensorName
        pool = (try p.floats([T.classifierPool.weight]), try p.optional(T.classifierPool.bias))
        classifier = (try p.floats([T.classifierOut.weight]), try p.floats([T.classifierOut.bias]))
        let modern = p.graph.architecture == .modernbert
        outputNorm = modern ? try p.norm(T.outputNorm) : nil
        poolNorm = modern ? try p.norm(T.classifierPoolNorm) : nil
    }
}

/// Weights laid out for the kernels, 64-byte aligned, planned once per Executor.
final class PlannedWeights {
    /// The encoder families' weights (a decoder's are `decoder`; its ops never read these).
    var embedding: EmbeddingWeights { encoderEmbedding! }
    let blocks: [BlockWeights]
    var head: HeadWeights { encoderHead! }
    private let encoderEmbedding: EmbeddingWeights?, encoderHead: HeadWeights?
    let decoder: DecoderWeights?
    /// Owners of every pointer above (mapped tensors, copies, the panel arena).
    private let keep: [AnyObject]

    init(graph: Graph, activations: ActivationPlan) throws {
        let p = WeightPlanner(graph: graph, activations: activations)
        if graph.architecture == .decoder {
            (encoderEmbedding, blocks, encoderHead) = (nil, [], nil)
            decoder = try DecoderWeights(p)
        } else {
            encoderEmbedding = try EmbeddingWeights(p)
            blocks = try (0..<graph.hyperparameters.numHiddenLayers).map { try BlockWeights(p, block: $0) }
            encoderHead = try HeadWeights(p)
            decoder = nil
        }
        if let unused = Set(activations.perLinear.keys).subtracting(p.plannedInt8Linears).sorted().first {
            throw RuntimeError.invalidActivationPlan("\(unused) is not an int8 linear of this model")
        }
        p.packAll()
        keep = p.keep
    }
}

/// Turns a graph's named tensors into kernel operands: zero-copy views where the bytes already fit, copies
/// otherwise, int8 panels queued and packed together by `packAll`.
final class WeightPlanner {
    let graph: Graph
    let activations: ActivationPlan
    private(set) var keep: [AnyObject] = []
    private var packJobs: [PackJob] = []
    /// The int8 linears planned so far, by the name ActivationPlan keys them with.
    private(set) var plannedInt8Linears: Set<String> = []
    /// All panels in one arena (huge pages where the kernel gives them), reserved for every int8 matrix
    /// of the graph, each packed on its own: concatenated row blocks pad no more than that.
    private let arena: PageArena?
    /// [hidden] zeros: the β of a LayerNorm without bias.
    private let zero: UnsafePointer<Float>

    init(graph: Graph, activations: ActivationPlan) {
        self.graph = graph
        self.activations = activations
        // Room for either panel layout of every int8 matrix (quads pad k to 4, pairs to 2).
        let packs = activations.base != .fp32 || activations.perLinear.values.contains { $0 != .fp32 }
        arena = packs ? PageArena(capacity: graph.weights.values.reduce(0) { total, t in
            guard t.dtype == .i8, t.shape.dims.count == 2 else { return total }
            let n = Int32(t.shape.dims[0]), k = Int32(t.shape.dims[1])
            return total + max(ce_qgemm_packed_size(n, k), ce_qgemm_u8_packed_size(n, k)) + 64
        }) : nil
        let d = graph.hyperparameters.hiddenSize
        let zeros = OwnedBytes(count: d * 4, alignment: 64)
        zeros.pointer.initializeMemory(as: Float.self, repeating: 0, count: d)
        keep.append(zeros)
        zero = UnsafePointer(zeros.pointer.assumingMemoryBound(to: Float.self))
    }

    /// fp32 pointer to one or more tensors concatenated along dim 0.
    func floats(_ names: [String]) throws -> UnsafePointer<Float> {
        let tensors = names.map { graph.weights[$0]! }
        if tensors.count == 1, tensors[0].dtype == .f32, let base = tensors[0].storage.bytes.baseAddress,
           base.isAligned(for: Float.self) {
            // Zero-copy view (e.g. into the mmapped checkpoint).
            keep.append(TensorBox(tensors[0]))
            return base.assumingMemoryBound(to: Float.self)
        }
        let total = tensors.reduce(0) { $0 + $1.shape.elementCount }
        let box = OwnedBytes(count: total * 4, alignment: 64)
        let dst = box.pointer.bindMemory(to: Float.self, capacity: total)
        var at = 0
        for (name, t) in zip(names, tensors) {
            let count = t.shape.elementCount
            if t.dtype == .f16, let base = t.storage.bytes.baseAddress, base.isAligned(for: UInt16.self) {
                // F16C widening when the CPU has it.
                ce_f16_to_f32(base.assumingMemoryBound(to: UInt16.self), dst + at, count)
            } else {
                guard let v = t.floatValues() else { throw RuntimeError.unsupportedWeightDType(name: name, dtype: t.dtype) }
                (dst + at).update(from: v, count: v.count)
            }
            at += count
        }
        // The stored bytes are not read again (a mapped file's pages go back to the kernel): resident once, as fp32.
        for t in tensors { t.storage.releaseMappedPages() }
        keep.append(box)
        return UnsafePointer(dst)
    }

    /// A LayerNorm's or linear's bias when the graph has it.
    func optional(_ name: String) throws -> UnsafePointer<Float>? { graph.weights[name] == nil ? nil : try floats([name]) }

    /// `name`.weight and `name`.bias (zeros when the graph has none).
    func norm(_ name: Layer) throws -> Norm { Norm(gamma: try floats([name.weight]), beta: try optional(name.bias) ?? zero) }

    /// `name`.weight and its optional `name`.bias.
    func linear(named name: Layer) throws -> Linear { Linear(weight: try linear([name.weight]), bias: try optional(name.bias)) }

    /// Input positions per scale of an int8 weight: the graph's group size when its scales are [out, groups], else 0.
    private func group(of names: [String]) throws -> Int {
        // validate() checked each scale's shape; fused linears must agree.
        let ranks = Set(names.map { graph.weights[TensorName.scale(of: $0)]?.shape.rank ?? 1 })
        guard ranks.count == 1 else {
            throw GraphError.shapeMismatch(name: TensorName.scale(of: names[1]), expected: graph.weights[TensorName.scale(of: names[0])]!.shape,
                                           actual: graph.weights[TensorName.scale(of: names[1])]!.shape)
        }
        return ranks.first == 2 ? graph.weightGroupSize : 0
    }

    /// The token embedding: fp32, or a zero-copy view of the fp16 / bf16 rows, or of the int8 rows and their scales.
    func embeddingTable(_ name: String) throws -> EmbeddingTable {
        let t = graph.weights[name]!
        if t.dtype == .f16 || t.dtype == .bf16, let base = t.storage.bytes.baseAddress, base.isAligned(for: UInt16.self) {
            keep.append(TensorBox(t))
            let bits = base.assumingMemoryBound(to: UInt16.self)
            return t.dtype == .f16 ? .f16(bits) : .bf16(bits)
        }
        guard t.dtype == .i8 else { return .f32(try floats([name])) }
        let group = try group(of: [name])
        let scales = try floats([TensorName.scale(of: name)])
        keep.append(TensorBox(t))
        return .int8(t.storage.bytes.baseAddress!.assumingMemoryBound(to: Int8.self), scales: scales, group: group)
    }

    /// One linear from one or more row blocks [out_i, in] stacked along dim 0 (fused Q, K, V).
    func linear(_ names: [String]) throws -> LinearWeight {
        let tensors = names.map { graph.weights[$0]! }
        guard tensors.allSatisfy({ $0.dtype == .i8 }) else {
            guard !tensors.contains(where: { $0.dtype == .i8 }) else { throw RuntimeError.unsupportedWeightDType(name: names[0], dtype: .i8) }
            return .f32(try floats(names))
        }
        let group = try group(of: names)
        let key = String(names[0].dropLast(".weight".count))
        guard let mode = activations.mode(key) else {
            throw RuntimeError.invalidActivationPlan("the plan names no activations for \(key)")
        }
        plannedInt8Linears.insert(key)
        if mode == .fp32 { return .f32(widened(names, group: group)) }
        let scales = try floats(names.map(TensorName.scale(of:)))
        // Fused linears share one input, so one smoothing vector (the first's; validate() checks they agree).
        let smooth = try optional(TensorName.smooth(of: names[0]))
        let n = tensors.reduce(0) { $0 + $1.shape.dims[0] }, k = tensors[0].shape.dims[1]
        let quadGroups = ce_u8s8_supports_group(Int32(k), Int32(group)) == 1
        if mode == .int8 || mode == .int8Grouped, quadGroups {
            let (panels, corrections) = packQuads(tensors, n: n, k: k, group: group)
            let sxg = mode == .int8Grouped && group > 0 && group < k ? (k + group - 1) / group : 1
            return .int8Quads(Int8Quads(panels: panels, corrections: corrections, scales: scales, smooth: smooth,
                                        group: Int32(group), activationGroups: Int32(sxg)))
        }
        // int16 activations (and int8 ones whose weight groups split quads, widened to int16: the same sums; grouped
        // int8 ones there take int16, the finer rounding): the bound that keeps one int32 sum (a group's, for
        // grouped weights) from overflowing, or 0 for int8 codes.
        let qmax = mode == .int8 ? 0 : ce_s16_qmax_grouped(Int32(k), Int32(group))
        return .int8Packed(Int8Packed(panels: pack(tensors, n: n, k: k), scales: scales, smooth: smooth, qmax: qmax, group: Int32(group)))
    }

    /// Weight-only int8: the weights widened to fp32 once, w = q·scale[row]·smooth[col]
    /// (scale[row, col / group] for grouped weights). [Σ out_i, in]
    private func widened(_ names: [String], group: Int) -> UnsafePointer<Float> {
        let tensors = names.map { graph.weights[$0]! }
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
            t.storage.releaseMappedPages()
        }
        keep.append(box)
        return UnsafePointer(dst)
    }

    /// Room for the int8 panels of `tensors` (row blocks of one linear, [n, k] together), filled by `packAll`.
    private func pack(_ tensors: [Tensor], n: Int, k: Int) -> UnsafePointer<Int8> {
        let p = panelMemory(ce_qgemm_packed_size(Int32(n), Int32(k)))
        packJobs.append(PackJob(tensors: tensors, packed: p, k: k, quads: nil))
        return UnsafePointer(p)
    }

    /// Room for the quad panels of `tensors` and their corrections (Int8Quads), filled by `packAll`.
    private func packQuads(_ tensors: [Tensor], n: Int, k: Int, group: Int) -> (UnsafePointer<Int8>, UnsafePointer<Int32>) {
        let p = panelMemory(ce_qgemm_u8_packed_size(Int32(n), Int32(k)))
        let groups = group > 0 && group < k ? (k + group - 1) / group : 1
        let box = OwnedBytes(count: n * groups * 4, alignment: 64)
        keep.append(box)
        let corrections = box.pointer.bindMemory(to: Int32.self, capacity: n * groups)
        packJobs.append(PackJob(tensors: tensors, packed: p, k: k, quads: (corrections, n, group)))
        return (UnsafePointer(p), UnsafePointer(corrections))
    }

    private func panelMemory(_ size: Int) -> UnsafeMutablePointer<Int8> {
        let raw: UnsafeMutableRawPointer
        if let a = arena?.allocate(count: size) {
            raw = a
        } else {
            let box = OwnedBytes(count: size, alignment: 64)
            keep.append(box)
            raw = box.pointer
        }
        return raw.bindMemory(to: Int8.self, capacity: size)
    }

    /// Packs every queued linear. Packing is most of the load time of an int8 artifact; the linears are
    /// independent. Once packed, a linear's stored rows are not read again: pages of a mapped file are handed
    /// back, so the weights are resident once (as panels), not twice.
    func packAll() {
        if let arena {
            arena.trim()
            keep.append(arena)
        }
        let jobs = UncheckedSendable(packJobs)
        Kernels.parallelTasks(packJobs.count) { j, _ in
            let job = jobs.value[j]
            let blocks = job.tensors.map { $0.storage.bytes.baseAddress?.assumingMemoryBound(to: Int8.self) }
            let rows = job.tensors.map { Int32($0.shape.dims[0]) }
            if let (corrections, n, group) = job.quads {
                ce_qgemm_u8_pack_s8_blocks(blocks, rows, Int32(rows.count), job.packed, Int32(job.k))
                ce_qgemm_u8_corrections(job.packed, Int32(n), Int32(job.k), Int32(group), corrections)
            } else {
                ce_qgemm_pack_s8_blocks(blocks, rows, Int32(rows.count), job.packed, Int32(job.k))
            }
            for t in job.tensors { t.storage.releaseMappedPages() }
        }
        packJobs = []
    }
}

private struct PackJob {
    let tensors: [Tensor]
    let packed: UnsafeMutablePointer<Int8>
    let k: Int
    /// Quad panels: where their corrections go, the column count and the weight group.
    let quads: (corrections: UnsafeMutablePointer<Int32>, n: Int, group: Int)?
}

private final class TensorBox {
    let tensor: Tensor
    init(_ t: Tensor) { tensor = t }
}

extension UnsafeRawPointer {
    /// Whether the address is a multiple of `T`'s alignment.
    fileprivate func isAligned<T>(for: T.Type) -> Bool { UInt(bitPattern: self) % UInt(MemoryLayout<T>.alignment) == 0 }
}
