import CECore
import CEGraph
import CEQuant
import CETestSupport
import XCTest

/// The quantizers that define the bytes convert writes (formats/quantization.md): per-channel and per-group int8
/// rounding, error-compensating rounding, SmoothQuant factors, fp16 and bf16 rounding.
final class QuantizerTests: XCTestCase {
    /// The factor error-compensating rounding uses: UᵀU = (H + λI)⁻¹ with U upper triangular.
    func testInverseCholeskyFactor() throws {
        var rng = SeededRNG(seed: 22)
        for n in [1, 2, 7, 33] {
            let rows = 3 * n + 5
            let x = rng.floats(rows * n).map(Double.init)
            var h = UpperTriangle(n: n)
            for i in 0..<n { for j in i..<n { for r in 0..<rows { h[i, j] += x[r * n + i] * x[r * n + j] } } }
            let u = try ErrorCompensation.inverseCholeskyUpper(h, name: "t")
            XCTAssertEqual(u.values.count, n * (n + 1) / 2)
            var mean = 0.0
            for i in 0..<n { mean += h[i, i] }
            let lambda = ErrorCompensation.dampening * mean / Double(n)
            // (UᵀU)(H + λI) = I
            for i in 0..<n { for j in 0..<n {
                var s = 0.0
                for k in 0..<n {
                    var inv = 0.0
                    for t in 0...min(i, k) { inv += u[t, i] * u[t, k] }
                    let hk = k <= j ? h[k, j] : h[j, k]
                    s += inv * (hk + (k == j ? lambda : 0))
                }
                XCTAssertEqual(s, i == j ? 1 : 0, accuracy: 1e-9, "n=\(n) [\(i), \(j)]")
            } }
        }
        var negative = UpperTriangle(n: 2)
        negative.values = [-1, -2, -1]
        XCTAssertThrowsError(try ErrorCompensation.inverseCholeskyUpper(negative, name: "neg"))
    }

    /// Error-compensating rounding: with uncorrelated inputs (H diagonal) it is rounding to nearest, byte for
    /// byte; with correlated inputs it moves the layer's outputs less than rounding to nearest does, and every
    /// code stays in [-127, 127] with the per-channel scales unchanged.
    func testErrorCompensatingRounding() throws {
        var rng = SeededRNG(seed: 23)
        let rows = 24, cols = 48, tokens = 600
        let w = rng.floats(rows * cols)
        let nearest = Quantize.int8PerChannel(w, rows: rows, cols: cols)
        var diag = UpperTriangle(n: cols)
        for i in 0..<cols { diag[i, i] = Double(1 + i % 5) }
        let plain = ErrorCompensation.int8(w, rows: rows, cols: cols, u: try ErrorCompensation.inverseCholeskyUpper(diag, name: "d"))
        XCTAssertEqual(plain.q, nearest.q)
        XCTAssertEqual(plain.scales, nearest.scales)
        // Correlated inputs: a few shared factors plus noise.
        let factors = rng.floats(tokens * 4), mix = rng.floats(4 * cols), noise = rng.floats(tokens * cols, scale: 0.1)
        var x = [Float](repeating: 0, count: tokens * cols)
        for t in 0..<tokens { for c in 0..<cols { var v = noise[t * cols + c]; for f in 0..<4 { v += factors[t * 4 + f] * mix[f * cols + c] }; x[t * cols + c] = v } }
        var gram = InputGram()
        gram.observe("l", x, rows: tokens, cols: cols)
        let gptq = ErrorCompensation.int8(w, rows: rows, cols: cols, u: try ErrorCompensation.inverseCholeskyUpper(gram.gram["l"]!, name: "l"))
        XCTAssertEqual(gptq.scales, nearest.scales)
        XCTAssertNotEqual(gptq.q, nearest.q)
        XCTAssertTrue(gptq.q.allSatisfy { $0 >= -127 })
        func outputError(_ q: [Int8], _ s: [Float]) -> Double {
            var e = 0.0
            for t in 0..<tokens { for r in 0..<rows {
                var d = 0.0
                for c in 0..<cols { d += Double(x[t * cols + c]) * (Double(w[r * cols + c]) - Double(q[r * cols + c]) * Double(s[r])) }
                e += d * d
            } }
            return e
        }
        let eN = outputError(nearest.q, nearest.scales), eG = outputError(gptq.q, gptq.scales)
        XCTAssertLessThan(eG, 0.5 * eN, "output error: nearest \(eN), compensated \(eG)")
    }

    /// Weight groups: each group of a row has its own scale (max |w| over the group / 127), every weight is within
    /// half its group's step, an all-zero group keeps scale 1, a group as wide as the row is the per-channel rule,
    /// and on rows whose range differs across groups the grouped weights are closer. Error-compensating rounding
    /// with groups: rounding to nearest when the inputs are uncorrelated, and less output error than it otherwise.
    func testGroupedQuantization() throws {
        var rng = SeededRNG(seed: 32)
        let rows = 6, cols = 70, group = 16, groups = 5
        var w = rng.floats(rows * cols)
        for r in 0..<rows { for c in 0..<cols where c / group == r % groups { w[r * cols + c] *= 8 } }  // one wide group per row
        for c in 32..<48 { w[1 * cols + c] = 0 }
        let (q, s) = Quantize.int8PerGroup(w, rows: rows, cols: cols, group: group)
        XCTAssertEqual(s.count, rows * groups)
        XCTAssertEqual(s[1 * groups + 2], 1)
        for r in 0..<rows { for g in 0..<groups {
            let range = (g * group)..<min(cols, (g + 1) * group)
            let mx = range.map { abs(w[r * cols + $0]) }.max()!
            if mx > 0 { XCTAssertEqual(s[r * groups + g], mx / 127) }
            for c in range { XCTAssertLessThanOrEqual(abs(Float(q[r * cols + c]) * s[r * groups + g] - w[r * cols + c]), s[r * groups + g] / 2 * 1.0001) }
        } }
        let whole = Quantize.int8PerGroup(w, rows: rows, cols: cols, group: cols), channel = Quantize.int8PerChannel(w, rows: rows, cols: cols)
        XCTAssertEqual(whole.q, channel.q)
        XCTAssertEqual(whole.scales, channel.scales)
        func weightError(_ q: [Int8], _ scale: (Int, Int) -> Float) -> Double {
            var e = 0.0
            for r in 0..<rows { for c in 0..<cols { let d = Double(Float(q[r * cols + c]) * scale(r, c)) - Double(w[r * cols + c]); e += d * d } }
            return e
        }
        let eGroup = weightError(q) { s[$0 * groups + $1 / group] }, eChannel = weightError(channel.q) { r, _ in channel.scales[r] }
        XCTAssertLessThan(eGroup, 0.5 * eChannel, "squared weight error: per channel \(eChannel), groups of \(group) \(eGroup)")

        var diag = UpperTriangle(n: cols)
        for i in 0..<cols { diag[i, i] = Double(1 + i % 3) }
        let plain = ErrorCompensation.int8(w, rows: rows, cols: cols, u: try ErrorCompensation.inverseCholeskyUpper(diag, name: "d"), group: group)
        XCTAssertEqual(plain.q, q)
        XCTAssertEqual(plain.scales, s)
        let tokens = 500
        let factors = rng.floats(tokens * 3), mix = rng.floats(3 * cols), noise = rng.floats(tokens * cols, scale: 0.1)
        var x = [Float](repeating: 0, count: tokens * cols)
        for t in 0..<tokens { for c in 0..<cols { var v = noise[t * cols + c]; for f in 0..<3 { v += factors[t * 3 + f] * mix[f * cols + c] }; x[t * cols + c] = v } }
        var gram = InputGram()
        gram.observe("l", x, rows: tokens, cols: cols)
        let gptq = ErrorCompensation.int8(w, rows: rows, cols: cols, u: try ErrorCompensation.inverseCholeskyUpper(gram.gram["l"]!, name: "l"), group: group)
        XCTAssertEqual(gptq.scales.count, rows * groups)
        XCTAssertTrue(gptq.q.allSatisfy { $0 >= -127 })
        func outputError(_ q: [Int8], _ sc: [Float]) -> Double {
            var e = 0.0
            for t in 0..<tokens { for r in 0..<rows {
                var d = 0.0
                for c in 0..<cols { d += Double(x[t * cols + c]) * (Double(w[r * cols + c]) - Double(q[r * cols + c]) * Double(sc[r * groups + c / group])) }
                e += d * d
            } }
            return e
        }
        let eN = outputError(q, s), eG = outputError(gptq.q, gptq.scales)
        XCTAssertLessThan(eG, 0.5 * eN, "output error with groups: nearest \(eN), compensated \(eG)")
    }

    func testPerChannelQuantizationErrorIsAtMostHalfAStep() {
        var rng = SeededRNG(seed: 12)
        let rows = 7, cols = 45
        var w = rng.floats(rows * cols, scale: 3)
        for c in 0..<cols { w[2 * cols + c] = 0 } // an all-zero row keeps scale 1 and codes 0
        let (q, s) = Quantize.int8PerChannel(w, rows: rows, cols: cols)
        XCTAssertEqual(s[2], 1)
        for r in 0..<rows {
            let mx = (0..<cols).map { abs(w[r * cols + $0]) }.max()!
            if mx > 0 { XCTAssertEqual(s[r], mx / 127) }
            for c in 0..<cols {
                XCTAssertLessThanOrEqual(abs(Float(q[r * cols + c]) * s[r] - w[r * cols + c]), s[r] / 2 * 1.0001)
            }
        }
        // scale = 2.5 / 127: 0.5 -> 25.4 -> 25, (1.5/127) -> 0.6 -> 1, 2.5 -> 127
        XCTAssertEqual(Quantize.int8PerChannel([0.5, 1.5 / 127, 2.5], rows: 1, cols: 3).q, [25, 1, 127])
    }

    func testSmoothingFactorsFollowTheMigrationRule() {
        // a = 16, w = 4, α = 0.5: m = 4 / 2 = 2, f = 1/2. Zero ranges keep 1; extremes clamp to 1e4.
        let f = Quantize.smoothingFactors(activationMax: [16, 0, 3, 1e12], weightMax: [4, 5, 0, 1e-12], alpha: 0.5)
        XCTAssertEqual(f[0], 0.5)
        XCTAssertEqual(f[1], 1)
        XCTAssertEqual(f[2], 1)
        XCTAssertEqual(f[3], 1e-4)
    }

    func testHalfAndBFloat16RoundToNearestEven() {
        XCTAssertEqual(Quantize.fp16Bits([1, -2, 65504, 1e-8]), [0x3C00, 0xC000, 0x7BFF, 0x0000])
        // 1 + 2^-8 lies halfway between two bf16 values: ties to even (down); 1 + 3·2^-8 ties up.
        XCTAssertEqual(Quantize.bf16Bits([1, 1 + 1 / 256, 1 + 3 / 256, -5]), [0x3F80, 0x3F80, 0x3F82, 0xC0A0])
    }
}
