import CECore
import COpenBLAS
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// A symmetric or upper-triangular [n, n] matrix stored as its upper triangle, row by row: row i holds columns
/// i..<n, so a second-moment matrix or a factor takes n(n+1)/2 Doubles instead of n².
public struct UpperTriangle: Sendable, Equatable {
    public let n: Int
    public var values: [Double]

    public init(n: Int) {
        self.n = n
        values = [Double](repeating: 0, count: n * (n + 1) / 2)
    }

    /// Where row i starts in `values`: the rows before it hold n, n−1, …, n−i+1 entries.
    @inline(__always) public static func rowStart(_ i: Int, n: Int) -> Int { i * n - i * (i - 1) / 2 }

    /// Entry (i, j): 0 below the diagonal; setting one there is a programming error.
    public subscript(i: Int, j: Int) -> Double {
        get { j < i ? 0 : values[Self.rowStart(i, n: n) + j - i] }
        set {
            precondition(j >= i, "UpperTriangle: (\(i), \(j)) lies below the diagonal")
            values[Self.rowStart(i, n: n) + j - i] = newValue
        }
    }
}

/// Second moments of each int8 linear's input over the calibration tokens, H = Σ x xᵀ (Double, the upper
/// triangle), keyed like CalibrationStats.activationMax (attn_q's stands for Q, K and V).
public struct InputGram: @unchecked Sendable {
    public private(set) var gram: [String: UpperTriangle] = [:]
    public init() {}

    /// Adds xᵀx of one input [rows, cols]: one batch's sum in fp32 (ssyrk), accumulated across batches in Double.
    public mutating func observe(_ name: String, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
        guard rows > 0, cols > 0 else { return }
        var batch = [Float](repeating: 0, count: cols * cols)
        // Upper triangle (row-major).
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(cols), Int32(rows), 1, x, Int32(cols), 0, &batch, Int32(cols))
        // Accumulated in place: reading the entry out and storing it back would copy the triangle per batch.
        gram[name, default: UpperTriangle(n: cols)].values.withUnsafeMutableBufferPointer { h in
            var o = 0
            for i in 0..<cols { for j in i..<cols { h[o] += Double(batch[i * cols + j]); o += 1 } }
        }
    }

    /// Hands over the second moments of `name`, forgetting them here.
    public mutating func take(_ name: String) -> UpperTriangle? { gram.removeValue(forKey: name) }
}

/// InputGram fed from a background thread: `observe` copies the input and returns, and the sums run in the order they
/// were handed over on one serial queue, so the result is the bytes InputGram.observe gives called inline, while the
/// forward pass goes on. At most `pending` copies wait at a time.
public final class BackgroundGram: @unchecked Sendable {
    private var gram = InputGram()
    private let queue = DispatchQueue(label: "cetool.calibration.gram")
    private let slots: DispatchSemaphore

    public init(pending: Int = 4) { slots = DispatchSemaphore(value: max(1, pending)) }

    public func observe(_ name: String, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
        guard rows > 0, cols > 0 else { return }
        let copy = [Float](UnsafeBufferPointer(start: x, count: rows * cols))
        slots.wait()
        queue.async { [self] in
            copy.withUnsafeBufferPointer { gram.observe(name, $0.baseAddress!, rows: rows, cols: cols) }
            slots.signal()
        }
    }

    /// Waits for every input handed over and returns the sums, leaving this accumulator empty.
    public func finish() -> InputGram {
        queue.sync {
            let done = gram
            gram = InputGram()
            return done
        }
    }
}

/// Error-compensating rounding of int8 weights (the GPTQ update, Frantar et al. 2022, at 8 bits with
/// the per-channel scales of `Quantize.int8PerChannel`): input columns are rounded in order, and each
/// column's rounding error, weighted by the inverse input second moments, is pushed onto the columns not
/// yet rounded, so the layer's output on calibration-like inputs moves less than with rounding to
/// nearest. Everything here is scalar Double arithmetic in a fixed order: the same weights and H give
/// the same bytes on any machine.
public enum ErrorCompensation {
    public enum Failure: Error, CustomStringConvertible {
        case notPositiveDefinite(name: String)
        public var description: String {
            switch self {
            case .notPositiveDefinite(let n): return "the calibration inputs of \(displayEscaped(n)) give a matrix that is not positive definite"
            }
        }
    }

    /// Dampening added to H's diagonal: this fraction of its mean diagonal (the GPTQ paper uses 1 %; 10 % gave
    /// the lower mean error on minilm-l6-ce with the built-in calibration set, formats/quantization.md).
    public static let dampening = 0.1

    /// Columns of the Cholesky factor finished together: their updates from every earlier column are one pass.
    static let panel = 64

    /// The upper-triangular U with UᵀU = (H + λI)⁻¹, from a Cholesky factorisation of H with its index order
    /// reversed: H + λI = R Rᵀ with R upper, U = R⁻¹.
    ///
    /// Every entry is computed by the same operations in the same order as the textbook loops (a Cholesky entry
    /// subtracts L[i][k]·L[j][k] for k = 0, 1, …; U[i][j] subtracts R[i][k]·U[k][j] for k = i+1, …, j), so the
    /// result is the same bytes whatever the blocking, the thread count or the machine; the blocking only lets eight
    /// entries share each load (SIMD8 lanes, element-wise IEEE operations, no fused multiply-add).
    public static func inverseCholeskyUpper(_ h: UpperTriangle, name: String) throws -> UpperTriangle {
        let n = h.n
        var mean = 0.0
        for i in 0..<n { mean += h[i, i] }
        mean /= Double(n)
        let lambda = mean > 0 ? dampening * mean : 1
        // B = P H P (P reverses the index order) plus λ on the diagonal: B[i][j] = H[n-1-j][n-1-i] for j ≥ i, upper
        // triangle row by row, and eight entries of padding that the eight-lane loads may read past the last row.
        let count = n * (n + 1) / 2
        var b = [Double](repeating: 0, count: count + 8)
        for i in 0..<n {
            for j in i..<n { b[UpperTriangle.rowStart(i, n: n) + j - i] = h[n - 1 - j, n - 1 - i] + (i == j ? lambda : 0) }
        }
        try b.withUnsafeMutableBufferPointer { try choleskyLowerByColumns($0.baseAddress!, n: n, name: name) }
        // R[i][k] = L[n-1-i][n-1-k], the factor with H + λI = R Rᵀ; b's row n-1-k holds column n-1-k of L.
        var r = UpperTriangle(n: n)
        for i in 0..<n {
            for k in i..<n { r.values[UpperTriangle.rowStart(i, n: n) + k - i] = b[UpperTriangle.rowStart(n - 1 - k, n: n) + k - i] }
        }
        return invertUpper(r)
    }

    /// Lower Cholesky factor of the symmetric B whose upper triangle `a` holds (row by row, then at least eight
    /// entries of padding), in place and by columns: row j of `a` ends holding column j of L (L[i][j] for i ≥ j).
    /// Panels of columns: first every panel entry takes its updates from the columns before the panel (k ascending,
    /// eight rows per pass, the passes shared among the cores), then the panel's own columns in order.
    static func choleskyLowerByColumns(_ a: UnsafeMutablePointer<Double>, n: Int, name: String) throws {
        @Sendable @inline(__always) func at(_ j: Int, _ i: Int) -> Int { UpperTriangle.rowStart(j, n: n) + i - j }
        let width = (n + 7) / 8 * 8
        // The panel's rows from column j0 on, eight-lane aligned; entries left of the diagonal are scratch.
        let panelRows = UnsafeMutablePointer<Double>.allocate(capacity: panel * width)
        defer { panelRows.deallocate() }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        for j0 in stride(from: 0, to: n, by: panel) {
            let j1 = min(n, j0 + panel), p = j1 - j0
            if j0 > 0 {
                let blocks = (n - j0 + 7) / 8
                for jj in 0..<p {
                    let j = j0 + jj, dst = panelRows + jj * width
                    for t in 0..<(blocks * 8) { dst[t] = j0 + t >= j && j0 + t < n ? a[at(j, j0 + t)] : 0 }
                }
                // Entry (j, i) −= L[i][k]·L[j][k] for k < j0, eight rows i per pass. Loads past row k's end read the
                // next rows or the padding; those lanes are never stored.
                let aa = Int(bitPattern: a), pa = Int(bitPattern: panelRows), workers = max(1, min(cores, blocks))
                DispatchQueue.concurrentPerform(iterations: workers) { part in
                    let a = UnsafeMutablePointer<Double>(bitPattern: aa)!, rows = UnsafeMutablePointer<Double>(bitPattern: pa)!
                    let acc = UnsafeMutablePointer<SIMD8<Double>>.allocate(capacity: p)
                    defer { acc.deallocate() }
                    for block in stride(from: part, to: blocks, by: workers) {
                        let t0 = block * 8
                        for jj in 0..<p { acc[jj] = UnsafeRawPointer(rows + jj * width + t0).loadUnaligned(as: SIMD8<Double>.self) }
                        for k in 0..<j0 {
                            let v = UnsafeRawPointer(a + at(k, j0 + t0)).loadUnaligned(as: SIMD8<Double>.self)
                            let lk = a + at(k, j0)
                            for jj in 0..<p { acc[jj] -= v * SIMD8(repeating: lk[jj]) }
                        }
                        for jj in 0..<p { UnsafeMutableRawPointer(rows + jj * width + t0).storeBytes(of: acc[jj], as: SIMD8<Double>.self) }
                    }
                }
                for jj in 0..<p {
                    let j = j0 + jj, src = panelRows + jj * width
                    for i in j..<n { a[at(j, i)] = src[i - j0] }
                }
            }
            for j in j0..<j1 {
                let row = a + at(j, j), len = n - j
                for k in j0..<j {
                    let lk = a + at(k, j), l = lk[0]
                    for t in 0..<len { row[t] -= lk[t] * l }
                }
                let d = row[0]
                guard d > 0, d.isFinite else { throw Failure.notPositiveDefinite(name: name) }
                let ljj = d.squareRoot()
                row[0] = ljj
                for t in 1..<max(1, len) { row[t] /= ljj }
            }
        }
    }

    /// R⁻¹ of an upper-triangular R, eight columns at a time: U[i][j] = (δij − Σ_{k=i+1…j} R[i][k]·U[k][j]) / R[i][i],
    /// rows from the bottom. A column of U needs only that column, so the column blocks run on every core.
    static func invertUpper(_ r: UpperTriangle) -> UpperTriangle {
        let n = r.n
        var u = UpperTriangle(n: n)
        let blocks = (n + 7) / 8
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, blocks))
        u.values.withUnsafeMutableBufferPointer { ub in
            r.values.withUnsafeBufferPointer { rb in
                let ua = Int(bitPattern: ub.baseAddress), ra = Int(bitPattern: rb.baseAddress)
                DispatchQueue.concurrentPerform(iterations: workers) { part in
                    let u = UnsafeMutablePointer<Double>(bitPattern: ua)!, r = UnsafePointer<Double>(bitPattern: ra)!
                    let col = UnsafeMutablePointer<SIMD8<Double>>.allocate(capacity: n)
                    defer { col.deallocate() }
                    // Blocks dealt in turn: a block's cost grows with its columns' index.
                    for block in stride(from: part, to: blocks, by: workers) {
                        let jb = block * 8, last = min(n, jb + 8) - 1
                        for i in stride(from: last, through: 0, by: -1) {
                            let ri = r + UpperTriangle.rowStart(i, n: n) - i
                            var s = SIMD8<Double>()
                            if i < last { for k in (i + 1)...last { s -= SIMD8(repeating: ri[k]) * col[k] } }
                            if i >= jb { s[i - jb] += 1 }
                            col[i] = s / SIMD8(repeating: ri[i])
                        }
                        for i in 0...last {
                            let ui = u + UpperTriangle.rowStart(i, n: n) - i
                            for j in max(i, jb)...last { ui[j] = col[i][j - jb] }
                        }
                    }
                }
            }
        }
        return u
    }

    /// int8 codes and scales of w [rows, cols] (already smoothed), rounding columns in order with the error
    /// carried forward through `u` (from inverseCholeskyUpper of the input's H). `group` 0: one scale per row,
    /// from the weights as given (Quantize.int8PerChannel's). `group` > 0: one scale per row and group of `group`
    /// columns, [rows, ceil(cols / group)], each taken when the group's first column is reached, from the row as
    /// the carried errors have left it: max |·| over the group, over 127 in fp32 (1 for an all-zero group).
    /// Eight rows run side by side (SIMD8 lanes, each a row's own scalar arithmetic), so each row of `u` is read
    /// once per eight weight rows.
    public static func int8(_ w: [Float], rows: Int, cols: Int, u: UpperTriangle, group: Int = 0) -> (q: [Int8], scales: [Float]) {
        precondition(u.n == cols, "ErrorCompensation.int8: a factor of \(u.n) columns for \(cols)")
        let groups = group > 0 ? (cols + group - 1) / group : 1
        var scales = group > 0 ? [Float](repeating: 1, count: rows * groups) : Quantize.int8PerChannel(w, rows: rows, cols: cols).scales
        var q = [Int8](repeating: 0, count: rows * cols)
        let blocks = (rows + 7) / 8
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, blocks))
        q.withUnsafeMutableBufferPointer { qb in
            scales.withUnsafeMutableBufferPointer { sb in
                let qa = Int(bitPattern: qb.baseAddress), sa = Int(bitPattern: sb.baseAddress)
                u.values.withUnsafeBufferPointer { ub in
                    let ua = Int(bitPattern: ub.baseAddress)
                    DispatchQueue.concurrentPerform(iterations: workers) { part in
                        let q = UnsafeMutablePointer<Int8>(bitPattern: qa)!, u = UnsafePointer<Double>(bitPattern: ua)!
                        let scales = UnsafeMutablePointer<Float>(bitPattern: sa)!
                        let row = UnsafeMutablePointer<SIMD8<Double>>.allocate(capacity: cols)
                        defer { row.deallocate() }
                        for block in (part * blocks / workers)..<((part + 1) * blocks / workers) {
                            let r0 = block * 8, lanes = min(8, rows - r0)
                            // Lanes past the last row hold zeros: codes 0, errors 0, never stored.
                            var s = SIMD8<Double>(repeating: 1)
                            for c in 0..<cols { row[c] = SIMD8() }
                            for l in 0..<lanes {
                                s[l] = Double(scales[(r0 + l) * groups])
                                for c in 0..<cols { row[c][l] = Double(w[(r0 + l) * cols + c]) }
                            }
                            for j in 0..<cols {
                                if group > 0, j % group == 0 {
                                    // This group's scale, from the row as the errors carried so far have left it.
                                    for l in 0..<lanes {
                                        var m: Float = 0
                                        for c in j..<min(cols, j + group) { m = max(m, abs(Float(row[c][l]))) }
                                        let sf = Quantize.int8Scale(max: m)
                                        scales[(r0 + l) * groups + j / group] = sf
                                        s[l] = Double(sf)
                                    }
                                }
                                let uj = u + UpperTriangle.rowStart(j, n: cols) - j
                                let x = row[j]
                                let code = (x / s).rounded(.toNearestOrEven).clamped(lowerBound: SIMD8(repeating: -127), upperBound: SIMD8(repeating: 127))
                                for l in 0..<lanes { q[(r0 + l) * cols + j] = Int8(code[l]) }
                                let err = (x - code * s) / SIMD8(repeating: uj[j])
                                if err == SIMD8() { continue }
                                var c = j + 1
                                while c < cols { row[c] -= err * SIMD8(repeating: uj[c]); c += 1 }
                            }
                        }
                    }
                }
            }
        }
        return (q, scales)
    }
}
