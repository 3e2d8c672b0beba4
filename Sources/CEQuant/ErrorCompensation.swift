import CECore
import COpenBLAS
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Second moments of each int8 linear's input over the calibration tokens, H = Σ x xᵀ (Double,
/// [in, in] row-major), keyed like CalibrationStats.activationMax (attn_q's stands for Q, K and V).
public struct InputGram: @unchecked Sendable {
    public private(set) var gram: [String: [Double]] = [:]
    public init() {}

    /// Adds xᵀx of one input [rows, cols]: one batch's sum in fp32 (ssyrk), accumulated across batches in Double.
    public mutating func observe(_ name: String, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
        guard rows > 0, cols > 0 else { return }
        var batch = [Float](repeating: 0, count: cols * cols)
        // Upper triangle (row-major), mirrored when used.
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(cols), Int32(rows), 1, x, Int32(cols), 0, &batch, Int32(cols))
        // Accumulated in place: reading the entry out and storing it back would copy cols² Doubles per batch.
        gram[name, default: [Double](repeating: 0, count: cols * cols)].withUnsafeMutableBufferPointer { h in
            for i in 0..<cols { for j in i..<cols { h[i * cols + j] += Double(batch[i * cols + j]) } }
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

    /// The upper-triangular U with UᵀU = (H + λI)⁻¹ (row-major [n, n]), from a Cholesky factorisation of H
    /// with its index order reversed: H = R Rᵀ with R upper, U = R⁻¹. `h` holds the upper triangle.
    public static func inverseCholeskyUpper(_ h: [Double], n: Int, name: String) throws -> [Double] {
        var mean = 0.0
        for i in 0..<n { mean += h[i * n + i] }
        mean /= Double(n)
        let lambda = mean > 0 ? dampening * mean : 1
        // B = P H P (P reverses the index order), full symmetric, plus λ on the diagonal.
        var b = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                let v = h[i * n + j] + (i == j ? lambda : 0)
                b[(n - 1 - i) * n + (n - 1 - j)] = v
                b[(n - 1 - j) * n + (n - 1 - i)] = v
            }
        }
        // Lower Cholesky of B in place: B = L Lᵀ.
        try b.withUnsafeMutableBufferPointer { buffer in
            let a = buffer.baseAddress!
            for j in 0..<n {
                var d = a[j * n + j]
                for k in 0..<j { d -= a[j * n + k] * a[j * n + k] }
                guard d > 0, d.isFinite else { throw Failure.notPositiveDefinite(name: name) }
                let ljj = d.squareRoot()
                a[j * n + j] = ljj
                for i in (j + 1)..<max(j + 1, n) {
                    var s = a[i * n + j]
                    for k in 0..<j { s -= a[i * n + k] * a[j * n + k] }
                    a[i * n + j] = s / ljj
                }
            }
        }
        // R[i][j] = L[n-1-i][n-1-j] is upper triangular with H + λI = R Rᵀ; U = R⁻¹ row by row from the bottom:
        // U[i, :] = (e_i − Σ_{k>i} R[i][k] U[k, :]) / R[i][i].
        var u = [Double](repeating: 0, count: n * n)
        u.withUnsafeMutableBufferPointer { buffer in
            let u = buffer.baseAddress!
            for i in stride(from: n - 1, through: 0, by: -1) {
                let rii = b[(n - 1 - i) * n + (n - 1 - i)]
                for k in (i + 1)..<max(i + 1, n) {
                    let rik = b[(n - 1 - i) * n + (n - 1 - k)]   // R[i][k] = L[n-1-i][n-1-k]: row n-1-i > column n-1-k
                    if rik == 0 { continue }
                    for j in k..<n { u[i * n + j] -= rik * u[k * n + j] }
                }
                u[i * n + i] += 1
                for j in i..<n { u[i * n + j] /= rii }
            }
        }
        return u
    }

    /// int8 codes and scales of w [rows, cols] (already smoothed), rounding columns in order with the error
    /// carried forward through `u` (from inverseCholeskyUpper of the input's H). `group` 0: one scale per row,
    /// from the weights as given (Quantize.int8PerChannel's). `group` > 0: one scale per row and group of `group`
    /// columns, [rows, ceil(cols / group)], each taken when the group's first column is reached, from the row as
    /// the carried errors have left it: max |·| over the group, over 127 in fp32 (1 for an all-zero group).
    public static func int8(_ w: [Float], rows: Int, cols: Int, u: [Double], group: Int = 0) -> (q: [Int8], scales: [Float]) {
        let groups = group > 0 ? (cols + group - 1) / group : 1
        var scales = group > 0 ? [Float](repeating: 1, count: rows * groups) : Quantize.int8PerChannel(w, rows: rows, cols: cols).scales
        var q = [Int8](repeating: 0, count: rows * cols)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, rows))
        q.withUnsafeMutableBufferPointer { qb in
            scales.withUnsafeMutableBufferPointer { sb in
                let qa = Int(bitPattern: qb.baseAddress), sa = Int(bitPattern: sb.baseAddress)
                u.withUnsafeBufferPointer { ub in
                    let ua = Int(bitPattern: ub.baseAddress)
                    DispatchQueue.concurrentPerform(iterations: workers) { part in
                        let q = UnsafeMutablePointer<Int8>(bitPattern: qa)!, u = UnsafePointer<Double>(bitPattern: ua)!
                        let scales = UnsafeMutablePointer<Float>(bitPattern: sa)!
                        let row = UnsafeMutablePointer<Double>.allocate(capacity: cols)
                        defer { row.deallocate() }
                        for r in (part * rows / workers)..<((part + 1) * rows / workers) {
                            var s = Double(scales[r * groups])
                            for c in 0..<cols { row[c] = Double(w[r * cols + c]) }
                            for j in 0..<cols {
                                if group > 0, j % group == 0 {
                                    // This group's scale, from the row as the errors carried so far have left it.
                                    var m: Float = 0
                                    for c in j..<min(cols, j + group) { m = max(m, abs(Float(row[c]))) }
                                    let sf = Quantize.int8Scale(max: m)
                                    scales[r * groups + j / group] = sf
                                    s = Double(sf)
                                }
                                let v = (row[j] / s).rounded(.toNearestOrEven)
                                let code = max(-127, min(127, v))
                                q[r * cols + j] = Int8(code)
                                let err = (row[j] - code * s) / u[j * cols + j]
                                if err == 0 { continue }
                                let uj = u + j * cols
                                var c = j + 1
                                while c < cols { row[c] -= err * uj[c]; c += 1 }
                            }
                        }
                    }
                }
            }
        }
        return (q, scales)
    }
}
