import CERuntime
import CETestSupport
import XCTest

/// Fast kernels against their scalar reference twins, on odd sizes with seeded inputs.
final class KernelTests: XCTestCase {
    // Sums of k products of values in [-1, 1): fp32 rounding stays far below 1e-4 at these sizes.
    let tolerance: Float = 1e-4

    func testLinearMatchesReference() {
        var rng = SeededRNG(seed: 1)
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 33, 65), (31, 1, 129), (2, 97, 3)] {
            let x = rng.floats(m * k), w = rng.floats(n * k), b = rng.floats(n)
            var y = [Float](repeating: .nan, count: m * n)
            Kernels.linear(x, w, b, &y, m: m, n: n, k: k)
            let ref = KernelsReference.linear(x, w, b, m: m, n: n, k: k)
            XCTAssertLessThanOrEqual(maxAbsDiff(y, ref), tolerance, "m=\(m) n=\(n) k=\(k)")
            var y2 = [Float](repeating: .nan, count: m * n)
            Kernels.linear(x, w, nil, &y2, m: m, n: n, k: k)
            XCTAssertLessThanOrEqual(maxAbsDiff(y2, KernelsReference.linear(x, w, nil, m: m, n: n, k: k)), tolerance)
        }
    }

    func testLayerNormMatchesReference() {
        var rng = SeededRNG(seed: 2)
        for (rows, n) in [(1, 1), (3, 7), (5, 384), (2, 1001)] {
            let x = rng.floats(rows * n, scale: 10), g = rng.floats(n), b = rng.floats(n)
            var y = x
            Kernels.layerNorm(&y, rows: rows, n: n, gamma: g, beta: b, eps: 1e-12)
            let ref = KernelsReference.layerNorm(x, rows: rows, n: n, gamma: g, beta: b, eps: 1e-12)
            XCTAssertLessThanOrEqual(maxAbsDiff(y, ref), tolerance, "rows=\(rows) n=\(n)")
        }
    }

    func testGeluAndSoftmaxMatchReference() {
        var rng = SeededRNG(seed: 3)
        let x = rng.floats(1013, scale: 8)
        var g = x
        Kernels.gelu(&g, count: g.count)
        XCTAssertLessThanOrEqual(maxAbsDiff(g, KernelsReference.gelu(x)), 1e-6)
        var s = x
        Kernels.softmaxRows(&s, rows: 13, n: 77)
        XCTAssertLessThanOrEqual(maxAbsDiff(Array(s[0..<(13 * 77)]), KernelsReference.softmaxRows(Array(x[0..<(13 * 77)]), rows: 13, n: 77)), 1e-6)
    }

    func testAttentionMatchesReference() {
        var rng = SeededRNG(seed: 4)
        for (len, heads, dh) in [(1, 1, 1), (5, 3, 4), (37, 12, 32), (9, 2, 7)] {
            let d = heads * dh
            // fused [len, 3d] rows, as the executor lays them out
            let qkv = rng.floats(len * 3 * d)
            var q = [Float](), k = [Float](), v = [Float]()
            for t in 0..<len {
                let row: Int = t * 3 * d
                q.append(contentsOf: qkv[row..<(row + d)])
                k.append(contentsOf: qkv[(row + d)..<(row + 2 * d)])
                v.append(contentsOf: qkv[(row + 2 * d)..<(row + 3 * d)])
            }
            var out = [Float](repeating: .nan, count: len * d)
            var scratch = [Float](repeating: 0, count: len * len)
            qkv.withUnsafeBufferPointer { p in
                let base = p.baseAddress!
                Kernels.attention(q: base, k: base + d, v: base + 2 * d, ld: 3 * d, out: &out, ldOut: d, len: len,
                                  heads: heads, headDim: dh, scratch: &scratch)
            }
            let ref = KernelsReference.attention(q: q, k: k, v: v, len: len, heads: heads, headDim: dh)
            XCTAssertLessThanOrEqual(maxAbsDiff(out, ref), tolerance, "len=\(len) heads=\(heads) dh=\(dh)")
        }
    }
}
