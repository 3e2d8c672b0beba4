import CEQuant
import CETestSupport
import XCTest

/// The blocked, eight-lane error-compensating rounding against its twin: the textbook loops, one entry and one row
/// at a time, in the order formats/quantization.md gives. Same bytes (Double bit patterns, int8 codes, scales) on
/// sizes that are and are not multiples of the lanes (8) and of the Cholesky panel (64), so the artifact bytes do not
/// depend on the blocking.
final class ErrorCompensationTwinTests: XCTestCase {
    /// Σ x xᵀ of `rows` random inputs with a few shared factors (correlated, as linear inputs are), upper triangle.
    func gram(_ n: Int, rows: Int, rng: inout SeededRNG) -> UpperTriangle {
        let f = rng.floats(rows * 3), mix = rng.floats(3 * n), noise = rng.floats(rows * n, scale: 0.2)
        var h = UpperTriangle(n: n)
        for r in 0..<rows {
            var x = [Double](repeating: 0, count: n)
            for c in 0..<n { x[c] = Double(noise[r * n + c]) + (0..<3).reduce(0.0) { $0 + Double(f[r * 3 + $1] * mix[$1 * n + c]) } }
            for i in 0..<n { for j in i..<n { h[i, j] += x[i] * x[j] } }
        }
        return h
    }

    /// The textbook factor: Cholesky of the reversed H + λI by dot products, then R⁻¹ row by row from the bottom.
    func textbookFactor(_ h: UpperTriangle) -> [Double] {
        let n = h.n
        var mean = 0.0
        for i in 0..<n { mean += h[i, i] }
        mean /= Double(n)
        let lambda = mean > 0 ? ErrorCompensation.dampening * mean : 1
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n {
            let v = h[i, j] + (i == j ? lambda : 0)
            a[(n - 1 - i) * n + (n - 1 - j)] = v
            a[(n - 1 - j) * n + (n - 1 - i)] = v
        } }
        for j in 0..<n {
            var d = a[j * n + j]
            for k in 0..<j { d -= a[j * n + k] * a[j * n + k] }
            let ljj = d.squareRoot()
            a[j * n + j] = ljj
            for i in (j + 1)..<max(j + 1, n) {
                var s = a[i * n + j]
                for k in 0..<j { s -= a[i * n + k] * a[j * n + k] }
                a[i * n + j] = s / ljj
            }
        }
        var u = [Double](repeating: 0, count: n * n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            let rii = a[(n - 1 - i) * n + (n - 1 - i)]
            for k in (i + 1)..<max(i + 1, n) {
                let rik = a[(n - 1 - i) * n + (n - 1 - k)]
                if rik == 0 { continue }
                for j in k..<n { u[i * n + j] -= rik * u[k * n + j] }
            }
            u[i * n + i] += 1
            for j in i..<n { u[i * n + j] /= rii }
        }
        return u
    }

    /// The textbook rounding: one row at a time, each column's error carried onto the columns after it.
    func textbookInt8(_ w: [Float], rows: Int, cols: Int, u: [Double], group: Int) -> (q: [Int8], scales: [Float]) {
        let groups = group > 0 ? (cols + group - 1) / group : 1
        var scales = group > 0 ? [Float](repeating: 1, count: rows * groups) : Quantize.int8PerChannel(w, rows: rows, cols: cols).scales
        var q = [Int8](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            var row = (0..<cols).map { Double(w[r * cols + $0]) }
            var s = Double(scales[r * groups])
            for j in 0..<cols {
                if group > 0, j % group == 0 {
                    var m: Float = 0
                    for c in j..<min(cols, j + group) { m = max(m, abs(Float(row[c]))) }
                    scales[r * groups + j / group] = Quantize.int8Scale(max: m)
                    s = Double(scales[r * groups + j / group])
                }
                let code = max(-127, min(127, (row[j] / s).rounded(.toNearestOrEven)))
                q[r * cols + j] = Int8(code)
                let err = (row[j] - code * s) / u[j * cols + j]
                for c in (j + 1)..<max(j + 1, cols) { row[c] -= err * u[j * cols + c] }
            }
        }
        return (q, scales)
    }

    func testFactorIsTheTextbookFactorBitForBit() throws {
        var rng = SeededRNG(seed: 91)
        for n in [1, 2, 7, 8, 9, 63, 64, 65, 130, 203] {
            let h = gram(n, rows: n + 20, rng: &rng)
            let u = try ErrorCompensation.inverseCholeskyUpper(h, name: "t")
            let t = textbookFactor(h)
            var differing = 0
            for i in 0..<n { for j in i..<n where u[i, j].bitPattern != t[i * n + j].bitPattern { differing += 1 } }
            XCTAssertEqual(differing, 0, "n=\(n): \(differing) entries differ from the textbook factor")
        }
    }

    func testRoundingIsTheTextbookRoundingByteForByte() throws {
        var rng = SeededRNG(seed: 92)
        for (rows, cols, group) in [(1, 5, 0), (7, 33, 0), (8, 64, 16), (9, 70, 16), (20, 130, 64), (13, 203, 0)] {
            let h = gram(cols, rows: cols + 30, rng: &rng)
            var w = rng.floats(rows * cols)
            for c in 0..<cols where c % 11 == 3 { w[c] *= 9 }   // a few wide columns, so codes reach ±127
            let u = try ErrorCompensation.inverseCholeskyUpper(h, name: "t")
            let got = ErrorCompensation.int8(w, rows: rows, cols: cols, u: u, group: group)
            let want = textbookInt8(w, rows: rows, cols: cols, u: textbookFactor(h), group: group)
            XCTAssertEqual(got.q, want.q, "\(rows)×\(cols) group \(group)")
            XCTAssertEqual(got.scales.map(\.bitPattern), want.scales.map(\.bitPattern), "\(rows)×\(cols) group \(group)")
            XCTAssertTrue(got.q.contains(127) || got.q.contains(-127), "\(rows)×\(cols): no code at the clamp")
        }
    }

    /// The background accumulator sums the same inputs in the same order as InputGram called inline: the same bytes,
    /// with more inputs handed over than it lets wait, two names interleaved and an empty input.
    func testBackgroundGramEqualsInlineSums() {
        var rng = SeededRNG(seed: 93)
        var inline = InputGram()
        let background = BackgroundGram(pending: 2)
        for step in 0..<9 {
            let (name, cols) = step % 3 == 1 ? ("b", 13) : ("a", 40)
            let rows = step == 4 ? 0 : 17 + step
            let x = rng.floats(max(1, rows * cols), scale: Float(1 + step))
            x.withUnsafeBufferPointer {
                inline.observe(name, $0.baseAddress!, rows: rows, cols: cols)
                background.observe(name, $0.baseAddress!, rows: rows, cols: cols)
            }
        }
        let done = background.finish()
        XCTAssertEqual(Set(done.gram.keys), ["a", "b"])
        for (name, h) in inline.gram { XCTAssertEqual(done.gram[name]?.values.map(\.bitPattern), h.values.map(\.bitPattern), name) }
        XCTAssertTrue(background.finish().gram.isEmpty)
    }
}
