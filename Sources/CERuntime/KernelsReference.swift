#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Naive twins of `Kernels`: the definition each fast kernel is tested against. Double accumulators.
public enum KernelsReference {
    public static func linear(_ x: [Float], _ w: [Float], _ bias: [Float]?, m: Int, n: Int, k: Int) -> [Float] {
        var y = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var acc = Double(bias?[j] ?? 0)
                for t in 0..<k { acc += Double(x[i * k + t]) * Double(w[j * k + t]) }
                y[i * n + j] = Float(acc)
            }
        }
        return y
    }

    public static func layerNorm(_ x: [Float], rows: Int, n: Int, gamma: [Float], beta: [Float], eps: Float) -> [Float] {
        var y = x
        for r in 0..<rows {
            var mean = 0.0
            for i in 0..<n { mean += Double(x[r * n + i]) }
            mean /= Double(n)
            var v = 0.0
            for i in 0..<n { let d = Double(x[r * n + i]) - mean; v += d * d }
            v /= Double(n)
            for i in 0..<n {
                y[r * n + i] = Float((Double(x[r * n + i]) - mean) / (v + Double(eps)).squareRoot() * Double(gamma[i]) + Double(beta[i]))
            }
        }
        return y
    }

    public static func gelu(_ x: [Float]) -> [Float] {
        x.map { Float(0.5 * Double($0) * (1 + erf(Double($0) / 2.0.squareRoot()))) }
    }

    public static func softmaxRows(_ x: [Float], rows: Int, n: Int) -> [Float] {
        var y = x
        for r in 0..<rows {
            let row = x[(r * n)..<((r + 1) * n)].map(Double.init)
            let mx = row.max() ?? 0
            let e = row.map { exp($0 - mx) }
            let s = e.reduce(0, +)
            for i in 0..<n { y[r * n + i] = Float(e[i] / s) }
        }
        return y
    }

    /// q, k, v: [len, heads·dh] each, contiguous. Returns [len, heads·dh]. With `window`, query i sees only the keys
    /// j with |i − j| ≤ window (local attention).
    public static func attention(q: [Float], k: [Float], v: [Float], len: Int, heads: Int, headDim dh: Int, window: Int? = nil) -> [Float] {
        let d = heads * dh
        var out = [Float](repeating: 0, count: len * d)
        let scale = 1 / Double(dh).squareRoot()
        for h in 0..<heads {
            for i in 0..<len {
                var s = [Double](repeating: -.infinity, count: len)
                for j in 0..<len where window.map({ abs(i - j) <= $0 }) ?? true {
                    var acc = 0.0
                    for t in 0..<dh { acc += Double(q[i * d + h * dh + t]) * Double(k[j * d + h * dh + t]) }
                    s[j] = acc * scale
                }
                let mx = s.max()!
                let e = s.map { $0 == -.infinity ? 0 : exp($0 - mx) }
                let z = e.reduce(0, +)
                for t in 0..<dh {
                    var acc = 0.0
                    for j in 0..<len { acc += e[j] / z * Double(v[j * d + h * dh + t]) }
                    out[i * d + h * dh + t] = Float(acc)
                }
            }
        }
        return out
    }

    /// Rotary position embedding of x [len, heads·dh] (row t at position t) with base θ, all in double:
    /// inv_j = θ^(−2j/dh), angle = t·inv_j, x[j] ← x[j]·cos − x[j+h]·sin, x[j+h] ← x[j+h]·cos + x[j]·sin, h = dh / 2.
    public static func rotary(_ x: [Float], len: Int, heads: Int, headDim dh: Int, theta: Double) -> [Float] {
        var y = x
        let half = dh / 2, d = heads * dh
        for t in 0..<len {
            for h in 0..<heads {
                for j in 0..<half {
                    let angle = Double(t) * pow(theta, -Double(2 * j) / Double(dh))
                    let a = Double(x[t * d + h * dh + j]), b = Double(x[t * d + h * dh + j + half])
                    y[t * d + h * dh + j] = Float(a * cos(angle) - b * sin(angle))
                    y[t * d + h * dh + j + half] = Float(b * cos(angle) + a * sin(angle))
                }
            }
        }
        return y
    }

    /// The gated activation of up [rows, 2·n] = [u | g]: act(u) · g, [rows, n] (GELU with erf).
    public static func gatedGelu(_ up: [Float], rows: Int, n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for j in 0..<n {
                let u = Double(up[r * 2 * n + j]), g = Double(up[r * 2 * n + n + j])
                out[r * n + j] = Float(0.5 * u * (1 + erf(u / 2.0.squareRoot())) * g)
            }
        }
        return out
    }
}
