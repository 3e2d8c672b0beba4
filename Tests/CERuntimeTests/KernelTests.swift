import CEFormats
import CEKernels
@testable import CERuntime
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

    /// Runs `body` once with the CPU's own fp32 kernel variant and once with the portable one.
    func forEachVariant(_ body: (String) throws -> Void) rethrows {
        defer { ce_force_portable(0) }
        for portable in [0, 1] {
            ce_force_portable(Int32(portable))
            try body(portable == 1 ? "portable" : "variant \(ce_fp32_variant())")
        }
    }

    func testGeluAndSoftmaxMatchReference() {
        var rng = SeededRNG(seed: 3)
        // incl. the clamp region of the vector erf (|x|/√2 > 4) and values near 0
        let x = rng.floats(1013, scale: 8) + [0, -0.0, 1e-20, -1e-20, 12, -12, 5.7, -5.7, 100, -100]
        let ref = KernelsReference.gelu(x)
        let rows = 13, n = 77
        forEachVariant { v in
            var g = x
            Kernels.gelu(&g, count: g.count)
            // The vector erf is a rational approximation: error below 5e-7 of erf, so ≤ 5e-7·|x|/2 of GELU.
            for i in x.indices { XCTAssertLessThanOrEqual(abs(g[i] - ref[i]), 1e-6 * max(1, abs(x[i])), "\(v) gelu(\(x[i]))") }
            for len in [1, 7, 8, 9, n] {
                var s = Array(x[0..<(rows * len)])
                Kernels.softmaxRows(&s, rows: rows, n: len)
                XCTAssertLessThanOrEqual(maxAbsDiff(s, KernelsReference.softmaxRows(Array(x[0..<(rows * len)]), rows: rows, n: len)), 1e-6, "\(v) softmax n=\(len)")
            }
        }
    }

    func testVariantsOfLayerNormAndDequantMatchReference() {
        var rng = SeededRNG(seed: 5)
        for (rows, n) in [(1, 1), (3, 7), (5, 384), (2, 1001), (4, 17)] {
            let x = rng.floats(rows * n, scale: 10), r = rng.floats(rows * n), g = rng.floats(n), b = rng.floats(n)
            let summed = zip(x, r).map { $0 + $1 }
            let ref = KernelsReference.layerNorm(summed, rows: rows, n: n, gamma: g, beta: b, eps: 1e-12)
            forEachVariant { v in
                var y = x
                Kernels.addLayerNorm(&y, r, rows: rows, n: n, gamma: g, beta: b, eps: 1e-12)
                XCTAssertLessThanOrEqual(maxAbsDiff(y, ref), tolerance, "\(v) rows=\(rows) n=\(n)")
            }
        }
        for (m, n) in [(1, 1), (3, 9), (2, 17), (5, 384)] {
            let acc = (0..<(m * n)).map { _ in Int32.random(in: -2_000_000...2_000_000, using: &rng) }
            let sx = rng.floats(m, scale: 0.01), sw = rng.floats(n, scale: 0.01), bias = rng.floats(n)
            forEachVariant { v in
                var y = [Float](repeating: .nan, count: m * n)
                ce_dequant_f32(acc, sx, sw, bias, &y, Int32(m), Int32(n))
                for i in 0..<m {
                    for j in 0..<n {
                        let want = Float(Double(acc[i * n + j]) * Double(sx[i]) * Double(sw[j]) + Double(bias[j]))
                        XCTAssertEqual(y[i * n + j], want, accuracy: 1e-5 * max(1, abs(want)), "\(v) m=\(m) n=\(n)")
                    }
                }
            }
        }
    }

    func testRowQuantizerVariantsGiveTheSameBytes() {
        var rng = SeededRNG(seed: 6)
        for (rows, k) in [(1, 1), (3, 15), (2, 16), (4, 17), (3, 384), (2, 1536), (5, 33)] {
            var x = rng.floats(rows * k, scale: 6)
            if k > 3 { x[1] = 0.5 * (x[0] == 0 ? 1 : x[0]); x[2] = -x[1] } // ties after scaling are possible
            var q1 = [Int8](repeating: 0, count: rows * k), q2 = q1
            var s1 = [Float](repeating: 0, count: rows), s2 = s1
            ce_quantize_rows_s8_reference(x, &q1, &s1, Int32(rows), Int32(k))
            ce_quantize_rows_s8(x, &q2, &s2, Int32(rows), Int32(k))
            XCTAssertEqual(q1, q2, "rows=\(rows) k=\(k)")
            XCTAssertEqual(s1, s2, "rows=\(rows) k=\(k)")
            // Smoothed rows: both variants quantize x·f exactly as the plain rule does on that product.
            let f = rng.floats(k, scale: 2).map { abs($0) + 0.01 }
            let y = (0..<(rows * k)).map { x[$0] * f[$0 % k] }
            var q3 = q1, q4 = q1, q5 = q1, s3 = s1, s4 = s1, s5 = s1
            ce_quantize_rows_s8_smooth_reference(x, f, &q3, &s3, Int32(rows), Int32(k))
            ce_quantize_rows_s8_smooth(x, f, &q4, &s4, Int32(rows), Int32(k))
            ce_quantize_rows_s8_reference(y, &q5, &s5, Int32(rows), Int32(k))
            XCTAssertEqual(q3, q5, "smooth reference rows=\(rows) k=\(k)")
            XCTAssertEqual(q4, q5, "smooth rows=\(rows) k=\(k)")
            XCTAssertEqual(s4, s5)
        }
    }

    /// Every path the CPU has (sgemm + softmax; the fused AVX2 kernel; its AVX-512 twin) against the double-precision
    /// twin, on head sizes the kernels take (multiples of 8 for AVX2, of 16 for AVX-512) and ones they leave to the
    /// portable path, and lengths around their 4- and 8-row and 16- and 32-column tiles.
    func testAttentionMatchesReference() {
        var rng = SeededRNG(seed: 4)
        defer { ce_limit_attention_variant(-1) }
        let cases = [(1, 1, 1), (5, 3, 4), (37, 12, 32), (9, 2, 7), (1, 2, 8), (3, 1, 16), (17, 2, 64), (130, 2, 32),
                     (16, 1, 40), (23, 3, 24), (71, 1, 48), (8, 2, 16), (33, 1, 80)]
        for level in [0, 1, 2] {
            ce_limit_attention_variant(Int32(level))
            for (len, heads, dh) in cases {
                let d = heads * dh
                // fused [len, 3d] rows, as the executor lays them out
                let qkv = rng.floats(len * 3 * d, scale: 3)
                var q = [Float](), k = [Float](), v = [Float]()
                for t in 0..<len {
                    let row: Int = t * 3 * d
                    q.append(contentsOf: qkv[row..<(row + d)])
                    k.append(contentsOf: qkv[(row + d)..<(row + 2 * d)])
                    v.append(contentsOf: qkv[(row + 2 * d)..<(row + 3 * d)])
                }
                var out = [Float](repeating: .nan, count: len * d)
                var scratch = [Float](repeating: .nan, count: Kernels.attentionScratch(len: len, headDim: dh))
                qkv.withUnsafeBufferPointer { p in
                    let base = p.baseAddress!
                    Kernels.attention(q: base, k: base + d, v: base + 2 * d, ld: 3 * d, out: &out, ldOut: d, len: len,
                                      heads: heads, headDim: dh, scratch: &scratch)
                }
                let ref = KernelsReference.attention(q: q, k: k, v: v, len: len, heads: heads, headDim: dh)
                XCTAssertLessThanOrEqual(maxAbsDiff(out, ref), tolerance, "level=\(level) len=\(len) heads=\(heads) dh=\(dh)")
            }
        }
    }

    /// Local (sliding-window) attention, both variants (AVX2 for head sizes that are multiples of 8, portable
    /// otherwise), against the twin with the same window: windows smaller than, equal to and larger than the
    /// sequence, head sizes on and off the AVX2 path, one head at a time as the executor runs it.
    func testLocalAttentionMatchesReference() {
        var rng = SeededRNG(seed: 5)
        defer { ce_force_portable(0) }
        let cases = [(1, 8, 0), (2, 8, 0), (7, 12, 1), (40, 8, 5), (41, 16, 8), (33, 6, 64), (9, 8, 4), (64, 24, 3), (100, 32, 10)]
        for portable in [1, 0] {
            ce_force_portable(Int32(portable))
            for (len, dh, window) in cases {
                let d = 2 * dh // two heads in the row; the second is the one computed
                let qkv = rng.floats(len * 3 * d, scale: 3)
                var q = [Float](), k = [Float](), v = [Float]()
                for t in 0..<len {
                    let row = t * 3 * d + dh
                    q.append(contentsOf: qkv[row..<(row + dh)])
                    k.append(contentsOf: qkv[(row + d)..<(row + d + dh)])
                    v.append(contentsOf: qkv[(row + 2 * d)..<(row + 2 * d + dh)])
                }
                var out = [Float](repeating: .nan, count: len * d)
                var scratch = [Float](repeating: .nan, count: Kernels.attentionScratch(len: len, headDim: dh))
                qkv.withUnsafeBufferPointer { p in
                    let base = p.baseAddress! + dh
                    out.withUnsafeMutableBufferPointer { o in
                        Kernels.localAttention(q: base, k: base + d, v: base + 2 * d, ld: 3 * d, out: o.baseAddress! + dh, ldOut: d,
                                               len: len, headDim: dh, window: window, scratch: &scratch)
                    }
                }
                let ours = (0..<len).flatMap { out[($0 * d + dh)..<($0 * d + 2 * dh)] }
                XCTAssertTrue((0..<len).allSatisfy { t in out[(t * d)..<(t * d + dh)].allSatisfy(\.isNaN) }, "the other head's columns are untouched")
                let ref = KernelsReference.attention(q: q, k: k, v: v, len: len, heads: 1, headDim: dh, window: window)
                XCTAssertLessThanOrEqual(maxAbsDiff(ours, ref), tolerance, "portable=\(portable) len=\(len) dh=\(dh) window=\(window)")
                if window + 1 < len {
                    // The window matters: global attention gives other values.
                    let global = KernelsReference.attention(q: q, k: k, v: v, len: len, heads: 1, headDim: dh)
                    XCTAssertGreaterThan(maxAbsDiff(global, ref), 1e-3, "len=\(len) window=\(window)")
                }
            }
        }
    }

    /// Rotary embeddings from a RotaryTable (fp32 angles as transformers computes them) against the
    /// double-precision twin, at positions where fp32 angle rounding stays small.
    func testRotaryMatchesReference() {
        var rng = SeededRNG(seed: 6)
        for (len, heads, dh, theta) in [(1, 1, 2, 10_000.0), (5, 3, 8, 160_000.0), (37, 2, 12, 10_000.0), (64, 4, 64, 160_000.0), (9, 1, 6, 500.0)] {
            let d = heads * dh
            let x = rng.floats(len * d, scale: 2)
            let table = RotaryTable(theta: theta, headDim: dh)
            table.reserve(len)
            XCTAssertGreaterThanOrEqual(table.count, len)
            var y = x
            y.withUnsafeMutableBufferPointer {
                Kernels.rotary($0.baseAddress!, ld: d, len: len, heads: heads, headDim: dh, cos: table.cos, sin: table.sin)
            }
            let ref = KernelsReference.rotary(x, len: len, heads: heads, headDim: dh, theta: theta)
            XCTAssertLessThanOrEqual(maxAbsDiff(y, ref), 1e-5 * Float(max(1, len)), "len=\(len) heads=\(heads) dh=\(dh) θ=\(theta)")
            // Position 0 is the identity; later positions move the values.
            XCTAssertEqual(Array(y[0..<d]), Array(x[0..<d]))
            if len > 1 { XCTAssertGreaterThan(maxAbsDiff(Array(y[d..<(2 * d)]), Array(x[d..<(2 * d)])), 1e-3) }
        }
    }

    /// The gated feed-forward activation (GELU(u) · g) against its twin, rows split across workers.
    func testGatedActivationMatchesReference() {
        var rng = SeededRNG(seed: 7)
        for (rows, n) in [(1, 1), (3, 7), (17, 48), (40, 130)] {
            var up = rng.floats(rows * 2 * n, scale: 3)
            let ref = KernelsReference.gatedGelu(up, rows: rows, n: n)
            var out = [Float](repeating: .nan, count: rows * n)
            Kernels.gated(&up, &out, rows: rows, n: n, act: .gelu)
            XCTAssertLessThanOrEqual(maxAbsDiff(out, ref), tolerance, "rows=\(rows) n=\(n)")
        }
    }

    /// RotaryTable's inverse frequencies against those transformers' ModernBertRotaryEmbedding computed
    /// (golden/tiny-modernbert/config-resolution.json, every layer kind of default rotary type the reference ran):
    /// torch's fp32 pow is not correctly rounded, so they may differ by an ulp or two, never more. The linear-scaled
    /// kind cetool refuses shows why it must: its frequencies are the default ones divided by the factor.
    func testRotaryInverseFrequenciesMatchTheReference() throws {
        let doc = try JSONFile.load(path: repositoryRoot().appendingPathComponent("golden/tiny-modernbert/config-resolution.json").path)
        var compared = 0, exact = 0, worst = 0
        for c in doc["cases"]?.arrayValue ?? [] {
            guard let freqs = c["inv_freq_fp32_hex"]?.objectValue, let config = c["config"],
                  let hidden = config["hidden_size"]?.intValue, let heads = config["num_attention_heads"]?.intValue else { continue }
            for (kind, values) in freqs {
                let parameters = try XCTUnwrap(c["resolved"]?["rope_parameters"]?[kind])
                let theta = try XCTUnwrap(parameters["rope_theta"]?.doubleValue)
                let reference = try (values.arrayValue ?? []).map { try XCTUnwrap($0.stringValue.flatMap(Double.init).map(Float.init)) }
                let ours = RotaryTable(theta: theta, headDim: hidden / heads).inverseFrequencies
                XCTAssertEqual(ours.count, reference.count)
                if let factor = parameters["factor"]?.doubleValue, parameters["rope_type"]?.stringValue == "linear" {
                    for (a, b) in zip(ours, reference) { XCTAssertEqual(Double(a) / factor, Double(b), accuracy: Double(b) * 1e-6) }
                    continue
                }
                // (A dynamic kind, refused too, starts from the default frequencies; it is left out.)
                guard parameters["rope_type"]?.stringValue == "default" else { continue }
                for (a, b) in zip(ours, reference) {
                    let ulps = abs(Int(a.bitPattern) - Int(b.bitPattern))
                    XCTAssertLessThanOrEqual(ulps, 2, "θ \(theta): \(a) vs \(b)")
                    worst = max(worst, ulps)
                    exact += ulps == 0 ? 1 : 0
                    compared += 1
                }
            }
        }
        XCTAssertGreaterThan(compared, 60)
        print("rotary inverse frequencies: \(exact) of \(compared) bit-identical to the reference, at most \(worst) ulp apart")
    }
}
