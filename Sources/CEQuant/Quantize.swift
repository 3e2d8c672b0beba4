import CECore
import CEGraph
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Weight quantization passes over the canonical graph. The scalar code here defines the bytes an
/// artifact holds (formats/quantization.md); runtime kernels only consume them.
public enum Quantize {
    /// Storage precision of the quantized linear weights.
    public enum Precision: String, Sendable, CaseIterable {
        case fp32, fp16, bf16, int8
    }

    /// Which tensors a plan stores at the reduced precision: the encoder linears by group, and the token
    /// embedding table (int8: scales as the linears', per row and group of columns). Position/type embeddings,
    /// LayerNorms, biases, the pooler and the classifier head always stay fp32.
    public struct Plan: Sendable, Equatable {
        public var attention: Bool
        public var ffnUp: Bool
        public var ffnDown: Bool
        public var tokenEmbedding: Bool
        /// int8 compute: activations quantized per row at run time to int8 (`int8`) or to int16 (`int16`,
        /// the range bounded so int32 sums cannot overflow), chosen per linear by convert from the calibration pass
        /// (`auto`, the result in `linearActivations`), or the int8 weights widened to fp32 at load and computed in
        /// fp32 (`fp32`: weight-only quantization, fp32 speed).
        public var activations: Activations
        /// `auto`, once chosen: every int8 linear (its first weight's canonical name without ".weight") with int8 or
        /// int16, in the order the plan lists the linears.
        public var linearActivations: [LinearActivations] = []
        /// int8 encoder linears and token embedding: one scale per output row (token) and group of this many input
        /// positions (embedding columns) (even; 0 = one scale per row). A tensor with no more columns than this keeps
        /// one scale per row.
        public var weightGroupSize: Int

        public enum Activations: String, Sendable, CaseIterable {
            case auto, int8, int16, fp32
            case int8Grouped = "int8_grouped"
        }

        /// One linear's run-time input precision in an `auto` plan.
        public struct LinearActivations: Sendable, Equatable {
            public var linear: String
            public var activations: Activations
            public init(linear: String, activations: Activations) {
                self.linear = linear
                self.activations = activations
            }
        }

        /// The default group size: 64 input positions per scale (formats/quantization.md, "Weight groups").
        public static let defaultWeightGroupSize = 64

        public init(attention: Bool = true, ffnUp: Bool = true, ffnDown: Bool = true, tokenEmbedding: Bool = true,
                    activations: Activations = .int16, weightGroupSize: Int = Plan.defaultWeightGroupSize) {
            self.attention = attention
            self.ffnUp = ffnUp
            self.ffnDown = ffnDown
            self.tokenEmbedding = tokenEmbedding
            self.activations = activations
            self.weightGroupSize = weightGroupSize
        }

        /// Every encoder linear.
        public static let all = Plan()

        /// The int8 linears as the runtime plans them, by their first weight's canonical name without ".weight": Q, K and
        /// V share one input (attn_q names them), ModernBERT's attn_qkv is one; then attn_out, ffn_up, ffn_down per block.
        public func runtimeLinears(_ a: Architecture, _ h: Hyperparameters) -> [String] {
            (0..<h.numHiddenLayers).flatMap { i -> [String] in
                var layers: [Layer] = []
                if attention { layers += [TensorName.attentionInputs(a, i)[0], TensorName.attnOut(i)] }
                if ffnUp { layers.append(TensorName.ffnInputs(a, i)[0]) }
                if ffnDown { layers.append(TensorName.ffnDown(i)) }
                return layers.map(\.name)
            }
        }

        /// The weights the plan stores at reduced precision, for architecture `a` (ModernBERT's attention is one fused
        /// attn_qkv linear; its ffn_up holds the activation's input and the gate).
        public func linears(_ a: Architecture, _ h: Hyperparameters) -> [String] {
            (0..<h.numHiddenLayers).flatMap { i -> [String] in
                var names: [Layer] = []
                if attention { names += TensorName.attentionInputs(a, i) + [TensorName.attnOut(i)] }
                if ffnUp { names += TensorName.ffnInputs(a, i) }
                if ffnDown { names.append(TensorName.ffnDown(i)) }
                return names.map { $0.weight }
            } + (tokenEmbedding ? [TensorName.tokenEmbedding.weight] : [])
        }
    }

    /// Symmetric per-output-channel int8: for each row r of w [out, in], scale[r] = max|w[r,:]| / 127
    /// (1 for an all-zero row) and q = round-half-to-even(w / scale), clamped to [-127, 127].
    public static func int8PerChannel(_ w: [Float], rows: Int, cols: Int) -> (q: [Int8], scales: [Float]) {
        int8PerGroup(w, rows: rows, cols: cols, group: max(cols, 1))
    }

    /// The int8 step for values whose largest magnitude is `m`: m / 127 in fp32, or 1 when m is 0.
    public static func int8Scale(max m: Float) -> Float { m > 0 ? m / 127 : 1 }

    /// Symmetric int8 with one scale per row r and group g of `group` columns (columns g·group ..< (g+1)·group):
    /// scale[r·groups + g] = max|w[r, group g]| / 127 (1 for an all-zero group), codes as int8PerChannel's;
    /// groups = ceil(cols / group). `group` ≥ cols is int8PerChannel.
    public static func int8PerGroup(_ w: [Float], rows: Int, cols: Int, group: Int) -> (q: [Int8], scales: [Float]) {
        precondition(group > 0)
        let groups = max(1, (cols + group - 1) / group)
        var q = [Int8](repeating: 0, count: rows * cols)
        var scales = [Float](repeating: 1, count: rows * groups)
        for r in 0..<rows {
            for g in 0..<groups {
                let c0 = g * group, c1 = min(cols, c0 + group)
                var m: Float = 0
                for c in c0..<c1 { m = max(m, abs(w[r * cols + c])) }
                let s = int8Scale(max: m)
                scales[r * groups + g] = s
                for c in c0..<c1 { q[r * cols + c] = Int8(max(-127, min(127, (w[r * cols + c] / s).rounded(.toNearestOrEven)))) }
            }
        }
        return (q, scales)
    }

    /// IEEE binary16, round to nearest even (Swift's Float16 conversion).
    public static func fp16Bits(_ w: [Float]) -> [UInt16] { w.map { Float16($0).bitPattern } }

    /// bfloat16, round to nearest even on the dropped 16 bits; NaN stays NaN.
    public static func bf16Bits(_ w: [Float]) -> [UInt16] {
        w.map { f in
            let b = f.bitPattern
            if f.isNaN { return UInt16(b >> 16) | 0x0040 }
            let rounding = UInt32(0x7FFF) + ((b >> 16) & 1)
            return UInt16((b &+ rounding) >> 16)
        }
    }

    /// Per-input-channel smoothing factors of an int8 linear (SmoothQuant with migration strength α):
    /// for input channel c with calibrated activation range a[c] = max|x[:, c]| and weight range
    /// w[c] = max over output rows (and over every linear sharing the input) of |W[:, c]|,
    /// m[c] = a[c]^α / w[c]^(1−α), clamped to [1e-4, 1e4], 1 where a or w is 0. The stored weight is
    /// W[:, c]·m[c] and the input is multiplied by f[c] = 1/m[c] (fp32) before it is quantized.
    public static func smoothingFactors(activationMax a: [Float], weightMax w: [Float], alpha: Float) -> [Float] {
        zip(a, w).map { a, w in
            guard a > 0, w > 0, a.isFinite, w.isFinite else { return 1 }
            let m = Float(pow(Double(a), Double(alpha)) / pow(Double(w), Double(1 - alpha)))
            return 1 / min(max(m, 1e-4), 1e4)
        }
    }

    /// Max |W[:, c]| over the rows of one or more [out, in] weights with the same `in`.
    static func columnMax(_ ws: [Tensor]) -> [Float] {
        let cols = ws[0].shape.dims[1]
        var out = [Float](repeating: 0, count: cols)
        for t in ws {
            let v = t.floatValues() ?? []
            for r in 0..<t.shape.dims[0] { for c in 0..<cols { out[c] = max(out[c], abs(v[r * cols + c])) } }
        }
        return out
    }

    /// Each int8 linear's smoothing factors f[c] (smoothingFactors), keyed by weight name: Q, K and V (and ModernBERT's
    /// gate and up) share one input, so one set computed over their weights together.
    static func smoothingFactors(_ graph: Graph, plan: Plan, activationMax: [String: [Float]], alpha: Float) throws -> [String: [Float]] {
        var smoothing: [String: [Float]] = [:]
        for i in 0..<graph.hyperparameters.numHiddenLayers {
            var groups: [[Layer]] = []
            if plan.attention { groups += [TensorName.attentionInputs(graph.architecture, i), [TensorName.attnOut(i)]] }
            if plan.ffnUp { groups.append(TensorName.ffnInputs(graph.architecture, i)) }
            if plan.ffnDown { groups.append([TensorName.ffnDown(i)]) }
            for group in groups {
                let names = group.map { $0.weight }
                guard let a = activationMax[names[0]] else { continue }
                let ws = try names.map { n -> Tensor in
                    guard let t = graph.weights[n] else { throw GraphError.missingWeight(name: n) }
                    return t
                }
                guard a.count == ws[0].shape.dims[1] else {
                    throw GraphError.shapeMismatch(name: TensorName.smooth(of: names[0]), expected: [ws[0].shape.dims[1]], actual: [a.count])
                }
                let f = smoothingFactors(activationMax: a, weightMax: columnMax(ws), alpha: alpha)
                for n in names { smoothing[n] = f }
            }
        }
        return smoothing
    }

    /// The graph with its planned tensors stored at `precision`. int8 weights carry a companion
    /// `<name>_scale` F32 [out] tensor (TensorName.scale(of:)); with `activationMax` (calibrated
    /// max |input| per channel, keyed by weight name; attn_q's stands for Q, K and V when they are separate) int8 linears
    /// are also smoothed and carry `<name>_smooth` F32 [in]. With `gram` (same keys) int8 linears are rounded with
    /// error compensation (ErrorCompensation) instead of to nearest; each input's second moments and factor are let go
    /// once its last linear is rounded, so one input's are held at a time, not the model's. `progress` hears
    /// (tensors done, tensors planned) after each planned tensor.
    public static func apply(_ precision: Precision, to graph: Graph, plan: Plan = .all,
                             activationMax: [String: [Float]]? = nil, alpha: Float = 0.5,
                             gram: consuming InputGram? = nil, progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> Graph {
        var g = graph
        guard precision != .fp32 else { return g }
        let group = precision == .int8 ? plan.weightGroupSize : 0
        guard group == 0 || Graph.isValidWeightGroupSize(group) else {
            throw GraphError.invalidHyperparameter(name: "weight_group_size", reason: "\(group) is not an even number of input positions within 2...65536")
        }
        var smoothing: [String: [Float]] = [:]
        if precision == .int8, let activationMax { smoothing = try smoothingFactors(graph, plan: plan, activationMax: activationMax, alpha: alpha) }
        var factor: (key: String, u: UpperTriangle)?
        let sharedInput = TensorName.sharedInputs(graph.architecture, graph.hyperparameters)
        let planned = plan.linears(graph.architecture, graph.hyperparameters)
        var lastUse: [String: Int] = [:]
        for (i, name) in planned.enumerated() { lastUse[sharedInput[name] ?? name] = i }
        for (done, name) in planned.enumerated() {
            defer { progress?(done + 1, planned.count) }
            guard let t = graph.weights[name], var w = t.floatValues() else { throw GraphError.missingWeight(name: name) }
            // The source's pages are not read again here: a mapped checkpoint need not stay resident as it is rounded.
            defer { t.storage.releaseMappedPages() }
            let rows = t.shape.dims[0], cols = t.shape.dims[1]
            if let f = smoothing[name] {
                for r in 0..<rows { for c in 0..<cols { w[r * cols + c] /= f[c] } }
                g.weights[TensorName.smooth(of: name)] = Tensor(floats: f, shape: [cols])
            }
            switch precision {
            case .fp32: break
            case .fp16, .bf16:
                let bits = precision == .fp16 ? fp16Bits(w) : bf16Bits(w)
                let storage = bits.withUnsafeBytes { TensorStorage(copying: $0) }
                g.weights[name] = Tensor(dtype: precision == .fp16 ? .f16 : .bf16, shape: t.shape, storage: storage)
            case .int8:
                // Q, K and V share one input: attn_q's statistics stand for all three.
                let key = sharedInput[name] ?? name
                if factor?.key != key { factor = nil }
                if factor == nil, var h = gram?.take(key), h.n == cols {
                    if let f = smoothing[name] {
                        // The input the int8 weight sees is x·f, so its second moments are H[i][j]·f[i]·f[j].
                        for i in 0..<cols { for j in i..<cols { h[i, j] *= Double(f[i]) * Double(f[j]) } }
                    }
                    factor = (key, try ErrorCompensation.inverseCholeskyUpper(h, name: name))
                }
                let u = factor?.u
                if lastUse[key] == done { factor = nil }
                // Groups for every int8 tensor wider than one group: encoder linears and the token embedding.
                let grouped = group > 0 && cols > group
                let (q, s): ([Int8], [Float])
                if let u {
                    (q, s) = ErrorCompensation.int8(w, rows: rows, cols: cols, u: u, group: grouped ? group : 0)
                } else {
                    (q, s) = grouped ? int8PerGroup(w, rows: rows, cols: cols, group: group) : int8PerChannel(w, rows: rows, cols: cols)
                }
                g.weights[name] = Tensor(dtype: .i8, shape: t.shape, storage: q.withUnsafeBytes { TensorStorage(copying: $0) })
                g.weights[TensorName.scale(of: name)] = Tensor(floats: s, shape: grouped ? [rows, (cols + group - 1) / group] : [rows])
                if grouped { g.weightGroupSize = group }
            }
        }
        try g.validate()
        return g
    }
}
