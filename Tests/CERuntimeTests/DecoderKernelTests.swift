import CETestSupport
import Foundation
import XCTest
@testable import CERuntime

/// The decoder kernels against naive loops on odd sizes with seeded inputs: causal attention (rows of stride ld, as in the
/// fused q|k|v buffer) and RMSNorm.
final class DecoderKernelTests: XCTestCase {
    func testCausalAttentionMatchesNaiveLoops() {
        var rng = SeededRNG(seed: 42)
        for (len, dh, ld) in [(1, 4, 12), (7, 6, 20), (33, 16, 50)] {
            let q = (0..<(len * ld)).map { _ in Float.random(in: -1...1, using: &rng) }
            let k = (0..<(len * ld)).map { _ in Float.random(in: -1...1, using: &rng) }
            let v = (0..<(len * ld)).map { _ in Float.random(in: -1...1, using: &rng) }
            var out = [Float](repeating: .nan, count: len * ld)
            var scratch = [Float](repeating: 0, count: len * len)
            Kernels.causalAttention(q: q, k: k, v: v, ld: ld, out: &out, ldOut: ld, len: len, headDim: dh, scratch: &scratch)
            for t in 0..<len {
                // softmax over j ≤ t of q_t · k_j / √dh, in double
                let s = (0...t).map { j in (0..<dh).reduce(0.0) { $0 + Double(q[t * ld + $1]) * Double(k[j * ld + $1]) } / Double(dh).squareRoot() }
                let m = s.max()!, e = s.map { exp($0 - m) }, z = e.reduce(0, +)
                for c in 0..<dh {
                    let expected = (0...t).reduce(0.0) { $0 + e[$1] / z * Double(v[$1 * ld + c]) }
                    XCTAssertEqual(Double(out[t * ld + c]), expected, accuracy: 1e-5, "len \(len) t \(t) c \(c)")
                }
            }
        }
    }

    func testRMSNormMatchesNaiveLoops() {
        var rng = SeededRNG(seed: 7)
        let rows = 5, n = 37
        var x = (0..<(rows * n)).map { _ in Float.random(in: -3...3, using: &rng) }
        let gain = (0..<n).map { _ in Float.random(in: 0.5...1.5, using: &rng) }
        let original = x
        Kernels.rmsNorm(&x, rows: rows, n: n, gain: gain, eps: 1e-6)
        for r in 0..<rows {
            let row = original[(r * n)..<((r + 1) * n)]
            let inv = 1 / (row.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n) + 1e-6).squareRoot()
            for j in 0..<n { XCTAssertEqual(Double(x[r * n + j]), Double(gain[j]) * Double(row[r * n + j]) * inv, accuracy: 1e-5) }
        }
    }
}
