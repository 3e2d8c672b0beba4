import CEGraph
import Foundation

// The layers of a training pass, each forward beside its backward (llm.c's layout). Shapes: M rows (tokens or
// sequences), K inputs, N outputs, C width. Arrays are row-major. A backward adds into its parameter gradients
// (they accumulate over a step) and returns the gradient of its input. Generic over Float (training) and Double
// (the finite-difference twins of Tests/CETrainTests).

/// The activations the graph uses (Op's PoolActivation and the blocks' HiddenActivation in one).
public enum Activation: Sendable, Equatable {
    /// 0.5·x·(1 + erf(x/√2)): torch GELU(approximate="none").
    case gelu
    /// 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))): torch GELU(approximate="tanh"), gelu_new.
    case geluTanh
    case relu
    case tanh

    init(_ a: HiddenActivation) {
        switch a {
        case .gelu: self = .gelu
        case .geluTanh: self = .geluTanh
        case .relu: self = .relu
        case .silu: preconditionFailure("TrainModel refuses decoders (the only SiLU models) at init")
        }
    }

    init(_ a: PoolActivation) {
        switch a { case .gelu: self = .gelu; case .geluTanh: self = .geluTanh; case .relu: self = .relu; case .tanh: self = .tanh }
    }
}

// MARK: linear

/// x (M, K), w (N, K) as torch.nn.Linear stores it, b (N) or empty -> y (M, N) = x·wᵀ + b.
func linearForward<T: TrainScalar>(_ x: [T], _ w: [T], _ b: [T], m: Int, n: Int, k: Int) -> [T] {
    var y = [T](repeating: 0, count: m * n)
    if !b.isEmpty { for r in 0..<m { for j in 0..<n { y[r * n + j] = b[j] } } }
    if m == 0 { return y }
    x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in y.withUnsafeMutableBufferPointer { yp in
        T.gemm(false, true, m, n, k, 1, xp.baseAddress!, k, wp.baseAddress!, k, b.isEmpty ? 0 : 1, yp.baseAddress!, n)
    } } }
    return y
}

/// dy (M, N) -> dx (M, K) = dy·w; dw (N, K) += dyᵀ·x; db (N) += Σ_rows dy (db empty: no bias).
func linearBackward<T: TrainScalar>(_ dy: [T], _ x: [T], _ w: [T], m: Int, n: Int, k: Int,
                                    dw: inout [T], db: inout [T]) -> [T] {
    var dx = [T](repeating: 0, count: m * k)
    if m == 0 { return dx }
    dy.withUnsafeBufferPointer { dyp in
        x.withUnsafeBufferPointer { xp in dw.withUnsafeMutableBufferPointer { dwp in
            T.gemm(true, false, n, k, m, 1, dyp.baseAddress!, n, xp.baseAddress!, k, 1, dwp.baseAddress!, k)
        } }
        w.withUnsafeBufferPointer { wp in dx.withUnsafeMutableBufferPointer { dxp in
            T.gemm(false, false, m, k, n, 1, dyp.baseAddress!, n, wp.baseAddress!, k, 0, dxp.baseAddress!, k)
        } }
    }
    if !db.isEmpty {
        db.withUnsafeMutableBufferPointer { dbp in dy.withUnsafeBufferPointer { dyp in
            for r in 0..<m { for j in 0..<n { dbp[j] += dyp[r * n + j] } }
        } }
    }
    return dx
}

// MARK: LayerNorm

/// What LayerNorm's backward needs: xhat (M, C) and 1/σ (M).
struct LayerNormCache<T: TrainScalar> {
    var xhat: [T]
    var rstd: [T]
}

/// x (M, C) -> y (M, C) = (x − mean)/√(var + eps)·γ + β, biased variance (torch.nn.LayerNorm); β empty: no bias.
func layerNormForward<T: TrainScalar>(_ x: [T], _ gamma: [T], _ beta: [T], rows m: Int, width c: Int, eps: T) -> ([T], LayerNormCache<T>) {
    var y = [T](repeating: 0, count: m * c), xhat = y, rstd = [T](repeating: 0, count: m)
    for r in 0..<m {
        var mean: T = 0
        for j in 0..<c { mean += x[r * c + j] }
        mean /= T(c)
        var v: T = 0
        for j in 0..<c { let d = x[r * c + j] - mean; v += d * d }
        let s = 1 / T.squareRoot(v / T(c) + eps)
        rstd[r] = s
        for j in 0..<c {
            let h = (x[r * c + j] - mean) * s
            xhat[r * c + j] = h
            y[r * c + j] = h * gamma[j] + (beta.isEmpty ? 0 : beta[j])
        }
    }
    return (y, LayerNormCache(xhat: xhat, rstd: rstd))
}

/// dy (M, C) -> dx (M, C) = (1/σ)·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), ĝ = dy·γ; dγ += Σ dy·x̂; dβ += Σ dy.
func layerNormBackward<T: TrainScalar>(_ dy: [T], _ cache: LayerNormCache<T>, _ gamma: [T], rows m: Int, width c: Int,
                                       dgamma: inout [T], dbeta: inout [T]) -> [T] {
    var dx = [T](repeating: 0, count: m * c)
    for r in 0..<m {
        var sg: T = 0, sgx: T = 0
        for j in 0..<c {
            let g = dy[r * c + j] * gamma[j], h = cache.xhat[r * c + j]
            sg += g; sgx += g * h
            dgamma[j] += dy[r * c + j] * h
            if !dbeta.isEmpty { dbeta[j] += dy[r * c + j] }
        }
        sg /= T(c); sgx /= T(c)
        for j in 0..<c {
            dx[r * c + j] = cache.rstd[r] * (dy[r * c + j] * gamma[j] - sg - cache.xhat[r * c + j] * sgx)
        }
    }
    return dx
}

// MARK: activations

/// x -> act(x), elementwise.
func activationForward<T: TrainScalar>(_ x: [T], _ a: Activation) -> [T] {
    x.map { activate($0, a) }
}

/// dy, x (the activation's input) -> dx = dy·act′(x).
func activationBackward<T: TrainScalar>(_ dy: [T], _ x: [T], _ a: Activation) -> [T] {
    var dx = dy
    for i in 0..<dx.count { dx[i] *= activationDerivative(x[i], a) }
    return dx
}

@inline(__always) func activate<T: TrainScalar>(_ x: T, _ a: Activation) -> T {
    switch a {
    case .gelu: return x * (1 + T.erf(x * T(0.7071067811865476))) / 2
    case .geluTanh: return x * (1 + T.tanh(T(0.7978845608028654) * (x + T(0.044715) * x * x * x))) / 2
    case .relu: return x > 0 ? x : 0
    case .tanh: return T.tanh(x)
    }
}

@inline(__always) func activationDerivative<T: TrainScalar>(_ x: T, _ a: Activation) -> T {
    switch a {
    case .gelu:
        return (1 + T.erf(x * T(0.7071067811865476))) / 2 + x * T.exp(-x * x / 2) * T(0.3989422804014327)
    case .geluTanh:
        let k = T(0.7978845608028654), t = T.tanh(k * (x + T(0.044715) * x * x * x))
        return (1 + t) / 2 + x * (1 - t * t) * k * (1 + 3 * T(0.044715) * x * x) / 2
    case .relu: return x > 0 ? 1 : 0
    case .tanh: let t = T.tanh(x); return 1 - t * t
    }
}

// MARK: gated feed-forward (ModernBERT GeGLU)

/// uv (M, 2F): [u g] per row -> z (M, F) = act(u) ⊙ g. transformers ModernBertMLP's `act(input) * gate`.
func gatedForward<T: TrainScalar>(_ uv: [T], rows m: Int, width f: Int, _ a: Activation) -> [T] {
    var z = [T](repeating: 0, count: m * f)
    for r in 0..<m { for j in 0..<f { z[r * f + j] = activate(uv[r * 2 * f + j], a) * uv[r * 2 * f + f + j] } }
    return z
}

/// dz (M, F) -> duv (M, 2F): du = dz·g·act′(u), dg = dz·act(u).
func gatedBackward<T: TrainScalar>(_ dz: [T], _ uv: [T], rows m: Int, width f: Int, _ a: Activation) -> [T] {
    var d = [T](repeating: 0, count: m * 2 * f)
    for r in 0..<m {
        for j in 0..<f {
            let u = uv[r * 2 * f + j], g = uv[r * 2 * f + f + j], dz = dz[r * f + j]
            d[r * 2 * f + j] = dz * g * activationDerivative(u, a)
            d[r * 2 * f + f + j] = dz * activate(u, a)
        }
    }
    return d
}

// MARK: softmax

/// s (M, C) -> p (M, C), softmax along rows.
func softmaxForward<T: TrainScalar>(_ s: [T], rows m: Int, width c: Int) -> [T] {
    var p = s
    for r in 0..<m {
        var mx = -T.infinity
        for j in 0..<c { mx = max(mx, s[r * c + j]) }
        var sum: T = 0
        for j in 0..<c { let e = T.exp(s[r * c + j] - mx); p[r * c + j] = e; sum += e }
        for j in 0..<c { p[r * c + j] /= sum }
    }
    return p
}

/// dp (M, C), p (M, C) -> ds = p ⊙ (dp − Σ_j p·dp).
func softmaxBackward<T: TrainScalar>(_ dp: [T], _ p: [T], rows m: Int, width c: Int) -> [T] {
    var ds = dp
    for r in 0..<m {
        var dot: T = 0
        for j in 0..<c { dot += p[r * c + j] * dp[r * c + j] }
        for j in 0..<c { ds[r * c + j] = p[r * c + j] * (dp[r * c + j] - dot) }
    }
    return ds
}

// MARK: rotary

/// cos/sin (len, D/2) of ModernBERT's rotary embedding at positions 0 ..< len, fp32 as transformers computes them
/// (formats/graph.md, ModernBERT): inv_j = 1/θ^(2j/D), angle = position·inv_j.
func rotaryTables<T: TrainScalar>(theta: Double, headDim dh: Int, length: Int) -> (cos: [T], sin: [T]) {
    let half = dh / 2
    var c = [T](repeating: 0, count: length * half), s = c
    for j in 0..<half {
        let e = Float(2 * j) / Float(dh)
        let inv = 1 / Float(pow(theta, Double(e)))
        for p in 0..<length {
            let angle = Float(p) * inv
            c[p * half + j] = T(Float(cos(Double(angle))))
            s[p * half + j] = T(Float(sin(Double(angle))))
        }
    }
    return (c, s)
}

/// x (len, ld) rows of one sequence, H heads of D within each row from column 0 -> rotated in place:
/// x[j] ← x[j]·cos − x[j + D/2]·sin, x[j + D/2] ← x[j + D/2]·cos + x[j]·sin. `inverse` rotates by −angle, which
/// is the backward (the rotation's transpose).
func rotary<T: TrainScalar>(_ x: inout [T], base: Int, ld: Int, len: Int, heads: Int, headDim dh: Int,
                            cos: [T], sin: [T], inverse: Bool) {
    let half = dh / 2
    for p in 0..<len {
        for hd in 0..<heads {
            let o = base + p * ld + hd * dh
            for j in 0..<half {
                let c = cos[p * half + j], s = inverse ? -sin[p * half + j] : sin[p * half + j]
                let a = x[o + j], b = x[o + j + half]
                x[o + j] = a * c - b * s
                x[o + j + half] = b * c + a * s
            }
        }
    }
}

// MARK: attention

/// One sequence and head: P (len, len) = softmax(q·kᵀ/√D) over the keys the mask admits (|i − j| ≤ window, or all);
/// q, k rows at stride `ld`.
func attentionProbs<T: TrainScalar>(q: UnsafePointer<T>, k: UnsafePointer<T>, ld: Int, len: Int, headDim dh: Int, window: Int?) -> [T] {
    var s = [T](repeating: 0, count: len * len)
    let scale = 1 / T.squareRoot(T(dh))
    s.withUnsafeMutableBufferPointer { sp in T.gemm(false, true, len, len, dh, scale, q, ld, k, ld, 0, sp.baseAddress!, len) }
    if let window {
        // transformers' sliding window: masked scores get the dtype's minimum, so their probability is exactly 0.
        for i in 0..<len { for j in 0..<len where abs(i - j) > window { s[i * len + j] = -T.infinity } }
    }
    return softmaxForward(s, rows: len, width: len)
}

/// One sequence and head: q, k, v with row stride `ld` (len, D) -> ctx (len, D) at stride ldOut = (P ⊙ dropout)·v.
/// P is not kept: the backward computes it again (one len × len product per head instead of holding them all).
func attentionForward<T: TrainScalar>(q: UnsafePointer<T>, k: UnsafePointer<T>, v: UnsafePointer<T>, ld: Int,
                                      ctx: UnsafeMutablePointer<T>, ldOut: Int, len: Int, headDim dh: Int, window: Int?,
                                      dropMask: DropoutMask) {
    var pd = attentionProbs(q: q, k: k, ld: ld, len: len, headDim: dh, window: window)
    applyMask(&pd, dropMask)
    pd.withUnsafeBufferPointer { pp in T.gemm(false, false, len, dh, len, 1, pp.baseAddress!, len, v, ld, 0, ctx, ldOut) }
}

/// dctx (len, D) at stride ldOut -> dq, dk, dv (len, D) added at stride ld.
func attentionBackward<T: TrainScalar>(dctx: UnsafePointer<T>, ldOut: Int, q: UnsafePointer<T>, k: UnsafePointer<T>,
                                       v: UnsafePointer<T>, ld: Int, dq: UnsafeMutablePointer<T>, dk: UnsafeMutablePointer<T>,
                                       dv: UnsafeMutablePointer<T>, len: Int, headDim dh: Int, window: Int?, dropMask: DropoutMask) {
    let p = attentionProbs(q: q, k: k, ld: ld, len: len, headDim: dh, window: window)
    var pd = p
    applyMask(&pd, dropMask)
    var dp = [T](repeating: 0, count: len * len)
    dp.withUnsafeMutableBufferPointer { dpp in T.gemm(false, true, len, len, dh, 1, dctx, ldOut, v, ld, 0, dpp.baseAddress!, len) }
    pd.withUnsafeBufferPointer { pp in T.gemm(true, false, len, dh, len, 1, pp.baseAddress!, len, dctx, ldOut, 1, dv, ld) }
    applyMask(&dp, dropMask)
    let ds = softmaxBackward(dp, p, rows: len, width: len)
    let scale = 1 / T.squareRoot(T(dh))
    ds.withUnsafeBufferPointer { dsp in
        T.gemm(false, false, len, dh, len, scale, dsp.baseAddress!, len, k, ld, 1, dq, ld)
        T.gemm(true, false, len, dh, len, scale, dsp.baseAddress!, len, q, ld, 1, dk, ld)
    }
}
