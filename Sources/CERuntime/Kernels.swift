import CEKernels
import COpenBLAS
import Foundation

/// fp32 kernels over raw pointers. Each has a scalar `…Reference` twin in KernelsReference.swift that
/// defines what it must compute; tests compare the two on odd sizes.
public enum Kernels {
    /// y[m, n] = x[m, k] · w[n, k]ᵀ + bias[n]. torch.nn.Linear with weight (out, in).
    public static func linear(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                              _ y: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int) {
        guard m > 0, n > 0 else { return }
        if let bias {
            for r in 0..<m { (y + r * n).update(from: bias, count: n) }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                    1, x, Int32(k), w, Int32(k), bias == nil ? 0 : 1, y, Int32(n))
    }

    /// Buffers of the int8 path, sized for the largest linear of a plan.
    final class Int8Scratch {
        let qx: UnsafeMutablePointer<Int8>        // [rows, maxK]
        let xScales: UnsafeMutablePointer<Float>  // [rows]
        let acc: UnsafeMutablePointer<Int32>      // [rows, maxN]
        init(rows: Int, maxK: Int, maxN: Int) {
            qx = .allocate(capacity: max(1, rows * maxK))
            xScales = .allocate(capacity: max(1, rows))
            acc = .allocate(capacity: max(1, rows * maxN))
        }
        deinit { qx.deallocate(); xScales.deallocate(); acc.deallocate() }
    }

    /// y = x · wᵀ + bias for an fp32 or int8 weight. int8: x is quantized per row (symmetric, dynamic),
    /// multiplied exactly in int32, and y[i, j] = acc[i, j] · sx[i] · sw[j] + bias[j].
    static func linear(_ x: UnsafePointer<Float>, _ w: LinearWeight, _ bias: UnsafePointer<Float>?,
                       _ y: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, scratch: Int8Scratch) {
        switch w {
        case .f32(let wp):
            linear(x, wp, bias, y, m: m, n: n, k: k)
        case .i8(let qw, let ws):
            ce_quantize_rows_s8(x, scratch.qx, scratch.xScales, Int32(m), Int32(k))
            // Row ranges write disjoint slices of acc; addresses cross the closure as integers.
            let (qa, wa, ca) = (Int(bitPattern: scratch.qx), Int(bitPattern: qw), Int(bitPattern: scratch.acc))
            parallelRows(m) { r0, r1 in
                ce_qgemm_s8(UnsafePointer<Int8>(bitPattern: qa)! + r0 * k, UnsafePointer<Int8>(bitPattern: wa)!,
                            UnsafeMutablePointer<Int32>(bitPattern: ca)! + r0 * n, Int32(r1 - r0), Int32(n), Int32(k))
            }
            for i in 0..<m {
                let sx = scratch.xScales[i]
                let a = scratch.acc + i * n, out = y + i * n
                if let bias {
                    for j in 0..<n { out[j] = Float(a[j]) * sx * ws[j] + bias[j] }
                } else {
                    for j in 0..<n { out[j] = Float(a[j]) * sx * ws[j] }
                }
            }
        }
    }

    /// Splits rows 0..<m into one contiguous range per BLAS thread and runs them concurrently.
    static func parallelRows(_ m: Int, _ body: @Sendable (Int, Int) -> Void) {
        let parts = max(1, min(threads, m / 8))
        if parts == 1 { return body(0, m) }
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            body(p * m / parts, (p + 1) * m / parts)
        }
    }

    /// Row-wise LayerNorm over `n` columns of `rows` rows, in place: (x − mean)/√(var + eps)·γ + β,
    /// biased variance, as torch.nn.LayerNorm.
    public static func layerNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int,
                                 gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float) {
        for r in 0..<rows {
            let p = x + r * n
            var sum: Float = 0
            for i in 0..<n { sum += p[i] }
            let mean = sum / Float(n)
            var sq: Float = 0
            for i in 0..<n { let d = p[i] - mean; sq += d * d }
            let inv = 1 / (sq / Float(n) + eps).squareRoot()
            for i in 0..<n { p[i] = (p[i] - mean) * inv * gamma[i] + beta[i] }
        }
    }

    /// x += r, then LayerNorm in place. The residual step of a post-norm block.
    public static func addLayerNorm(_ x: UnsafeMutablePointer<Float>, _ r: UnsafePointer<Float>, rows: Int, n: Int,
                                    gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float) {
        for i in 0..<(rows * n) { x[i] += r[i] }
        layerNorm(x, rows: rows, n: n, gamma: gamma, beta: beta, eps: eps)
    }

    /// GELU with erf, in place: 0.5·x·(1 + erf(x/√2)). torch.nn.functional.gelu(approximate="none").
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let c: Float = 0.70710678118654752440
        for i in 0..<count { let v = x[i]; x[i] = 0.5 * v * (1 + erf(v * c)) }
    }

    /// GELU, tanh approximation, in place. transformers "gelu_new" / "gelu_pytorch_tanh".
    public static func geluTanh(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let k: Float = 0.7978845608028654 // √(2/π)
        for i in 0..<count { let v = x[i]; x[i] = 0.5 * v * (1 + tanh(k * (v + 0.044715 * v * v * v))) }
    }

    public static func relu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count where x[i] < 0 { x[i] = 0 }
    }

    public static func tanhInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = tanh(x[i]) }
    }

    /// Softmax of each of `rows` rows of length n, in place, max-subtracted.
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        for r in 0..<rows {
            let p = x + r * n
            var mx = -Float.infinity
            for i in 0..<n where p[i] > mx { mx = p[i] }
            var sum: Float = 0
            for i in 0..<n { let e = exp(p[i] - mx); p[i] = e; sum += e }
            let inv = 1 / sum
            for i in 0..<n { p[i] *= inv }
        }
    }

    /// Self-attention for one sequence of `len` tokens, all heads. q, k, v rows have stride `ld`
    /// (q at qkv, k at qkv+hidden, v at qkv+2·hidden for a fused [len, 3·hidden] buffer); head h
    /// occupies columns h·dh ..< (h+1)·dh. out is [len, hidden] with stride `ldOut`.
    /// scratch holds len·len floats. Keys beyond `len` do not exist, so no mask is needed: this equals
    /// masked attention whose padding logits underflow exp to exactly 0.
    public static func attention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
                                 out: UnsafeMutablePointer<Float>, ldOut: Int, len: Int, heads: Int, headDim dh: Int,
                                 scratch: UnsafeMutablePointer<Float>) {
        let scale = 1 / Float(dh).squareRoot()
        let l = Int32(len), d = Int32(dh)
        for h in 0..<heads {
            let off = h * dh
            // scores[i, j] = scale · q_i · k_j
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, l, l, d, scale,
                        q + off, Int32(ld), k + off, Int32(ld), 0, scratch, l)
            softmaxRows(scratch, rows: len, n: len)
            // out_h[i, :] = Σ_j p[i, j] v_j
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, l, d, l, 1,
                        scratch, l, v + off, Int32(ld), 0, out + off, Int32(ldOut))
        }
    }

    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
    public static var threads: Int { Int(openblas_get_num_threads()) }
}
