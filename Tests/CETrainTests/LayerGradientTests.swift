import CETestSupport
import XCTest
@testable import CETrain

/// Every layer's backward against its Float64 finite-difference twin: the scalar s = Σ r ⊙ f(x) with a seeded r,
/// ∂s/∂x by the backward vs (s(x + h) − s(x − h)) / 2h per entry, on odd sizes.
final class LayerGradientTests: XCTestCase {
    var rng = SeededRNG(seed: 2811)

    func values(_ n: Int, scale: Double = 1) -> [Double] { rng.floats(n, scale: Float(scale)).map(Double.init) }

    /// Checks `analytic` (∂s/∂v) against central differences of `s` over every entry of `v`.
    func checkFD(_ name: String, _ v: [Double], _ analytic: [Double], _ s: ([Double]) -> Double,
                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(v.count, analytic.count, name, file: file, line: line)
        let h = TrainTolerance.finiteDifferenceStep
        var worst = 0.0
        for i in 0..<v.count {
            var p = v, m = v
            p[i] += h; m[i] -= h
            let fd = (s(p) - s(m)) / (2 * h)
            worst = max(worst, abs(fd - analytic[i]) / max(1, abs(fd)))
        }
        XCTAssertLessThan(worst, TrainTolerance.finiteDifference, "\(name): worst relative error \(worst)", file: file, line: line)
        XCTAssertGreaterThan(analytic.map(abs).max() ?? 0, 1e-3, "\(name): gradient is trivially zero", file: file, line: line)
    }

    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    func testLinear() {
        let m = 3, n = 5, k = 7
        let x = values(m * k), w = values(n * k), b = values(n), r = values(m * n)
        var dw = [Double](repeating: 0, count: n * k), db = [Double](repeating: 0, count: n)
        let dx = linearBackward(r, x, w, m: m, n: n, k: k, dw: &dw, db: &db)
        checkFD("linear dx", x, dx) { dot(r, linearForward($0, w, b, m: m, n: n, k: k)) }
        checkFD("linear dw", w, dw) { dot(r, linearForward(x, $0, b, m: m, n: n, k: k)) }
        checkFD("linear db", b, db) { dot(r, linearForward(x, w, $0, m: m, n: n, k: k)) }
        // without bias
        var dw2 = [Double](repeating: 0, count: n * k), none: [Double] = []
        _ = linearBackward(r, x, w, m: m, n: n, k: k, dw: &dw2, db: &none)
        XCTAssertEqual(dw2, dw)
    }

    func testLayerNorm() {
        let m = 3, c = 9
        let x = values(m * c, scale: 2), g = values(c), b = values(c), r = values(m * c)
        let (_, cache) = layerNormForward(x, g, b, rows: m, width: c, eps: 1e-5)
        var dg = [Double](repeating: 0, count: c), db = [Double](repeating: 0, count: c)
        let dx = layerNormBackward(r, cache, g, rows: m, width: c, dgamma: &dg, dbeta: &db)
        checkFD("layerNorm dx", x, dx) { dot(r, layerNormForward($0, g, b, rows: m, width: c, eps: 1e-5).0) }
        checkFD("layerNorm dgamma", g, dg) { dot(r, layerNormForward(x, $0, b, rows: m, width: c, eps: 1e-5).0) }
        checkFD("layerNorm dbeta", b, db) { dot(r, layerNormForward(x, g, $0, rows: m, width: c, eps: 1e-5).0) }
    }

    func testActivations() {
        // Away from ReLU's kink at 0.
        let x = values(31, scale: 3).map { abs($0) < 0.05 ? $0 + 0.2 : $0 }, r = values(31)
        for a in [Activation.gelu, .geluTanh, .relu, .tanh] {
            checkFD("\(a)", x, activationBackward(r, x, a)) { dot(r, activationForward($0, a)) }
        }
        // torch 2.13, float64: F.gelu(1.0), F.gelu(-0.5, approximate="tanh").
        XCTAssertEqual(activate(1.0, .gelu), 0.841344746068543, accuracy: 1e-14)
        XCTAssertEqual(activate(-0.5, .geluTanh), -0.15428599017485606, accuracy: 1e-14)
    }

    func testGated() {
        let m = 3, f = 5, uv = values(m * 2 * f, scale: 2), r = values(m * f)
        for a in [Activation.gelu, .geluTanh] {
            checkFD("gated \(a)", uv, gatedBackward(r, uv, rows: m, width: f, a)) { dot(r, gatedForward($0, rows: m, width: f, a)) }
        }
    }

    func testSoftmax() {
        let m = 2, c = 7, s = values(m * c, scale: 3), r = values(m * c)
        let p = softmaxForward(s, rows: m, width: c)
        checkFD("softmax", s, softmaxBackward(r, p, rows: m, width: c)) { dot(r, softmaxForward($0, rows: m, width: c)) }
        XCTAssertEqual(p[0..<c].reduce(0, +), 1, accuracy: 1e-12)
    }

    func testRotary() {
        let len = 5, heads = 2, dh = 6, ld = 3 * heads * dh
        let t: (cos: [Double], sin: [Double]) = rotaryTables(theta: 10_000, headDim: dh, length: len)
        let x = values(len * ld), r = values(len * ld)
        func f(_ v: [Double]) -> [Double] {
            var y = v
            rotary(&y, base: 0, ld: ld, len: len, heads: heads, headDim: dh, cos: t.cos, sin: t.sin, inverse: false)
            return y
        }
        var dx = r
        rotary(&dx, base: 0, ld: ld, len: len, heads: heads, headDim: dh, cos: t.cos, sin: t.sin, inverse: true)
        checkFD("rotary", x, dx) { dot(r, f($0)) }
        // Only the first heads·dh columns of each row are rotated.
        XCTAssertEqual(Array(f(x)[(heads * dh)..<ld]), Array(x[(heads * dh)..<ld]))
    }

    /// One sequence and head, global, windowed, and with a dropout mask on P (drawn again in the backward).
    func testAttention() {
        let len = 7, dh = 4, ld = 3 * dh
        let qkv = values(len * ld), r = values(len * dh)
        var gen: SeededGenerator? = SeededGenerator(seed: 5)
        let drop = DropoutMask(len * len, 0.3, &gen)
        var ones = [Double](repeating: 1, count: len * len)
        applyMask(&ones, drop)
        XCTAssertTrue(ones.contains(0) && ones.contains { abs($0 - 1 / 0.7) < 1e-12 } && ones.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-12 })
        for (window, mask) in [(nil, DropoutMask.none), (2, .none), (nil, drop), (1, drop)] as [(Int?, DropoutMask)] {
            func f(_ v: [Double]) -> [Double] {
                var ctx = [Double](repeating: 0, count: len * dh)
                v.withUnsafeBufferPointer { q in ctx.withUnsafeMutableBufferPointer { o in
                    attentionForward(q: q.baseAddress!, k: q.baseAddress! + dh, v: q.baseAddress! + 2 * dh, ld: ld, ctx: o.baseAddress!,
                                     ldOut: dh, len: len, headDim: dh, window: window, dropMask: mask)
                } }
                return ctx
            }
            if let window {
                let p = qkv.withUnsafeBufferPointer { attentionProbs(q: $0.baseAddress!, k: $0.baseAddress! + dh, ld: ld, len: len, headDim: dh, window: window) }
                XCTAssertEqual(p[0 * len + window + 1], 0, "masked key has probability 0")
            }
            var d = [Double](repeating: 0, count: len * ld)
            qkv.withUnsafeBufferPointer { q in r.withUnsafeBufferPointer { dc in d.withUnsafeMutableBufferPointer { dd in
                attentionBackward(dctx: dc.baseAddress!, ldOut: dh, q: q.baseAddress!, k: q.baseAddress! + dh, v: q.baseAddress! + 2 * dh,
                                  ld: ld, dq: dd.baseAddress!, dk: dd.baseAddress! + dh, dv: dd.baseAddress! + 2 * dh, len: len, headDim: dh,
                                  window: window, dropMask: mask)
            } } }
            checkFD("attention window \(String(describing: window)) dropout \(!mask.isEmpty)", qkv, d) { dot(r, f($0)) }
        }
    }

    func testLosses() {
        let logits = values(4 * 3, scale: 2)
        let cases: [(Loss, [Double], Int)] = [
            (.binaryCrossEntropy(posWeight: nil), [0, 1, 0.25, 1], 1), (.binaryCrossEntropy(posWeight: 2.5), [0, 1, 0.25, 1], 1),
            (.meanSquaredError, [0.3, -1, 2, 0], 1), (.crossEntropy, [0, 2, 1, 2], 3),
        ]
        for (loss, labels, l) in cases {
            let x = Array(logits[0..<(4 * l)])
            let (_, g) = loss.evaluate(x, labels: labels, numLabels: l)
            checkFD("\(loss)", x, g) { loss.evaluate($0, labels: labels, numLabels: l).loss }
        }
        // torch 2.13, float64: BCEWithLogitsLoss()(tensor([0.5, -1.0]), tensor([1.0, 0.0])).
        XCTAssertEqual(Loss.binaryCrossEntropy(posWeight: nil).evaluate([0.5, -1.0] as [Double], labels: [1, 0], numLabels: 1).loss,
                       0.39366933584916475, accuracy: 1e-14)
    }
}
