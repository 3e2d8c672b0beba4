import CECore
import CEGraph

/// Weight quantization passes over the canonical graph. The scalar code here defines the bytes an
/// artifact holds (formats/quantization.md); runtime kernels only consume them.
public enum Quantize {
    /// Storage precision of the quantized linear weights.
    public enum Precision: String, Sendable, CaseIterable {
        case fp32, fp16, bf16, int8
    }

    /// Which tensors a plan stores at the reduced precision: the encoder linears by group, and the token
    /// embedding table (int8: one scale per row). Position/type embeddings, LayerNorms, biases, the pooler
    /// and the classifier head always stay fp32.
    public struct Plan: Sendable, Equatable {
        public var attention: Bool
        public var ffnUp: Bool
        public var ffnDown: Bool
        public var tokenEmbedding: Bool

        public init(attention: Bool = true, ffnUp: Bool = true, ffnDown: Bool = true, tokenEmbedding: Bool = true) {
            self.attention = attention
            self.ffnUp = ffnUp
            self.ffnDown = ffnDown
            self.tokenEmbedding = tokenEmbedding
        }

        /// Every encoder linear.
        public static let all = Plan()

        public func linears(_ h: Hyperparameters) -> [String] {
            (0..<h.numHiddenLayers).flatMap { i -> [String] in
                var names: [String] = []
                if attention { names += [TensorName.attnQ(i), TensorName.attnK(i), TensorName.attnV(i), TensorName.attnOut(i)] }
                if ffnUp { names.append(TensorName.ffnUp(i)) }
                if ffnDown { names.append(TensorName.ffnDown(i)) }
                return names.map { $0 + ".weight" }
            } + (tokenEmbedding ? [TensorName.tokenEmbedding + ".weight"] : [])
        }
    }

    /// Symmetric per-output-channel int8: for each row r of w [out, in], scale[r] = max|w[r,:]| / 127
    /// (1 for an all-zero row) and q = round-half-to-even(w / scale), clamped to [-127, 127].
    public static func int8PerChannel(_ w: [Float], rows: Int, cols: Int) -> (q: [Int8], scales: [Float]) {
        var q = [Int8](repeating: 0, count: rows * cols)
        var scales = [Float](repeating: 1, count: rows)
        for r in 0..<rows {
            var mx: Float = 0
            for c in 0..<cols { mx = max(mx, abs(w[r * cols + c])) }
            let scale: Float = mx > 0 ? mx / 127 : 1
            scales[r] = scale
            for c in 0..<cols {
                let v = (w[r * cols + c] / scale).rounded(.toNearestOrEven)
                q[r * cols + c] = Int8(max(-127, min(127, v)))
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

    /// The graph with its quantized linears stored at `precision`. int8 weights carry a companion
    /// `<name>_scale` F32 [out] tensor (TensorName.scale(of:)).
    public static func apply(_ precision: Precision, to graph: Graph, plan: Plan = .all) throws -> Graph {
        var g = graph
        guard precision != .fp32 else { return g }
        for name in plan.linears(graph.hyperparameters) {
            guard let t = graph.weights[name], let w = t.floatValues() else { throw GraphError.missingWeight(name: name) }
            let rows = t.shape.dims[0], cols = t.shape.dims[1]
            switch precision {
            case .fp32: break
            case .fp16, .bf16:
                let bits = precision == .fp16 ? fp16Bits(w) : bf16Bits(w)
                let storage = bits.withUnsafeBytes { TensorStorage(copying: $0) }
                g.weights[name] = Tensor(dtype: precision == .fp16 ? .f16 : .bf16, shape: t.shape, storage: storage)
            case .int8:
                let (q, s) = int8PerChannel(w, rows: rows, cols: cols)
                g.weights[name] = Tensor(dtype: .i8, shape: t.shape, storage: q.withUnsafeBytes { TensorStorage(copying: $0) })
                g.weights[TensorName.scale(of: name)] = Tensor(floats: s, shape: [rows])
            }
        }
        try g.validate()
        return g
    }
}
