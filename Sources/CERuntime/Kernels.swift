import CEGraph
import CEKernels
import COpenBLAS
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// fp32 kernels over raw pointers. Each has a scalar `…Reference` twin in KernelsReference.swift that
/// defines what it must compute; tests compare the two on odd sizes.
public enum Kernels {
    /// y[m, n] = x[m, k] · w[n, k]ᵀ + bias[n]. torch.nn.Linear with weight (out, in). Rows are split
    /// across `threads` workers, each calling single-threaded sgemm.
    public static func linear(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                              _ y: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int) {
        guard m > 0, n > 0 else { return }
        func rows(_ r0: Int, _ r1: Int) {
            let x = x + r0 * k, y = y + r0 * n
            if let bias { for r in 0..<(r1 - r0) { (y + r * n).update(from: bias, count: n) } }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1 - r0), Int32(n), Int32(k),
                        1, x, Int32(k), w, Int32(k), bias == nil ? 0 : 1, y, Int32(n))
        }
        if let block = reproducibleRowBlock {
            parallelTasks((m + block - 1) / block) { c, _ in rows(c * block, min(m, (c + 1) * block)) }
        } else {
            parallelRows(m, minRows: 4, rows)
        }
    }

    /// Rows per sgemm call of the fp32 `linear` inside `reproducibly` (nil: one call per worker). OpenBLAS rounds a row
    /// differently with the call's row count (its small-matrix and gemv paths), so a split by worker makes the last
    /// bits depend on the thread count; calls on a fixed grid of row blocks, in any order, do not.
    nonisolated(unsafe) public private(set) static var reproducibleRowBlock: Int?

    /// Runs `body` with the fp32 `linear` on a fixed grid of 128-row sgemm calls: its outputs (and everything computed
    /// from them) are the same bytes at any thread count. 4–8 % more CPU per fp32 linear at one thread than one call
    /// over 512 rows on MiniLM's shapes (B repacked per block). One caller at a time (convert): the switch is global.
    public static func reproducibly<T>(_ body: () throws -> T) rethrows -> T {
        let previous = reproducibleRowBlock
        reproducibleRowBlock = 128
        defer { reproducibleRowBlock = previous }
        return try body()
    }

    /// Buffers of the int8 path, sized for the largest linear of a plan.
    final class Int8Scratch {
        let qx: UnsafeMutablePointer<Int8>        // [rows, maxK]
        let xScales: UnsafeMutablePointer<Float>  // [rows]
        /// [rows, groups] for `int8_grouped` inputs, grown by `groupScales` (outside the workers).
        private(set) var xGroupScales: UnsafeMutablePointer<Float>?
        private var xGroupCapacity = 0
        let acc: UnsafeMutablePointer<Int32>      // [rows, maxN]
        let a16: UnsafeMutablePointer<Int16>      // [rows, maxK rounded up to even]
        let u8: UnsafeMutablePointer<UInt8>       // [rows, maxK rounded up to a multiple of 4]
        let k2: Int
        let rows: Int
        init(rows: Int, maxK: Int, maxN: Int) {
            self.rows = rows
            k2 = (maxK + 1) & ~1
            qx = .allocate(capacity: max(1, rows * maxK))
            xScales = .allocate(capacity: max(1, rows))
            acc = .allocate(capacity: max(1, rows * maxN))
            a16 = .allocate(capacity: max(1, rows * k2))
            u8 = .allocate(capacity: max(1, rows * ((maxK + 3) & ~3)))
        }
        deinit { qx.deallocate(); xScales.deallocate(); acc.deallocate(); a16.deallocate(); u8.deallocate(); xGroupScales?.deallocate() }

        /// Room for `count` per-group activation scales.
        func groupScales(_ count: Int) -> UnsafeMutablePointer<Float> {
            if let p = xGroupScales, xGroupCapacity >= count { return p }
            xGroupScales?.deallocate()
            xGroupCapacity = max(count, 1)
            xGroupScales = .allocate(capacity: xGroupCapacity)
            return xGroupScales!
        }
    }

    /// y = x · wᵀ + bias for an fp32 or int8 weight. int8: x is quantized per row (symmetric, dynamic),
    /// multiplied exactly in int32, and y[i, j] = acc[i, j] · sx[i] · sw[j] + bias[j].
    static func linear(_ x: UnsafePointer<Float>, _ l: Linear, _ y: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int,
                       scratch: Int8Scratch) {
        linear(x, l.weight, l.bias, y, m: m, n: n, k: k, scratch: scratch)
    }

    static func linear(_ x: UnsafePointer<Float>, _ w: LinearWeight, _ bias: UnsafePointer<Float>?,
                       _ y: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, scratch: Int8Scratch) {
        switch w {
        case .f32(let wp): linear(x, wp, bias, y, m: m, n: n, k: k)
        case .int8RowMajor(let w): int8RowMajorLinear(x, w, bias, y, m: m, n: n, k: k, scratch: scratch)
        case .int8Packed(let w): int8PackedLinear(x, w, bias, y, m: m, n: n, k: k, scratch: scratch)
        case .int8Quads(let w): int8QuadLinear(x, w, bias, y, m: m, n: n, k: k, scratch: scratch)
        }
    }

    /// x[m, k] quantized per row (or per row and weight group: sx [m, activationGroups]) to int8 codes stored as u8
    /// (code + 128; u [m, k rounded up to 4]); ce_qgemm_u8s8_gx_f32 takes the shift back out with the weights'
    /// corrections and rescales into y with the bias.
    static func int8QuadLinear(_ x: UnsafePointer<Float>, _ w: Int8Quads, _ bias: UnsafePointer<Float>?,
                               _ y: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, scratch: Int8Scratch) {
        let sxg = Int(w.activationGroups)
        let (u8, sx) = (scratch.u8, sxg > 1 ? scratch.groupScales(m * sxg) : scratch.xScales)
        let k4 = (k + 3) & ~3
        parallelRows(m, minRows: 2) { r0, r1 in
            let rows = Int32(r1 - r0), sx = sx + r0 * sxg, u = u8 + r0 * k4
            if sxg > 1 {
                ce_quantize_rows_u8_groups(x + r0 * k, w.smooth, u, sx, rows, Int32(k), w.group)
            } else {
                ce_quantize_rows_u8(x + r0 * k, w.smooth, u, sx, rows, Int32(k))
            }
            ce_qgemm_u8s8_gx_f32(u, w.panels, w.corrections, rows, Int32(n), Int32(k), w.group, sx, Int32(sxg), w.scales,
                                 bias, y + r0 * n)
        }
    }

    /// x[m, k] quantized per row to int8 (after ·smooth) into qx, sx; ce_qgemm_s8 into acc; ce_dequant_f32 into y.
    /// Each worker quantizes, multiplies and rescales its own rows.
    static func int8RowMajorLinear(_ x: UnsafePointer<Float>, _ w: Int8RowMajor, _ bias: UnsafePointer<Float>?,
                                   _ y: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, scratch: Int8Scratch) {
        let (qx, sx, acc) = (scratch.qx, scratch.xScales, scratch.acc)
        parallelRows(m, minRows: 2) { r0, r1 in
            let rows = Int32(r1 - r0), qx = qx + r0 * k, sx = sx + r0, acc = acc + r0 * n
            if let sm = w.smooth {
                ce_quantize_rows_s8_smooth(x + r0 * k, sm, qx, sx, rows, Int32(k))
            } else {
                ce_quantize_rows_s8(x + r0 * k, qx, sx, rows, Int32(k))
            }
            ce_qgemm_s8(qx, w.q, acc, rows, Int32(n), Int32(k))
            ce_dequant_f32(acc, sx, w.scales, bias, y + r0 * n, rows, Int32(n))
        }
    }

    /// x[m, k] quantized per row to int16 rows (qmax > 0) or to int8 then widened to int16 (a16 [m, k rounded up to
    /// even], sx [m]); ce_qgemm_packed_f32 (or its grouped form) rescales into y with the bias.
    static func int8PackedLinear(_ x: UnsafePointer<Float>, _ w: Int8Packed, _ bias: UnsafePointer<Float>?,
                                 _ y: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, scratch: Int8Scratch) {
        let (qx, sx, a16) = (scratch.qx, scratch.xScales, scratch.a16)
        let k2 = (k + 1) & ~1
        parallelRows(m, minRows: 2) { r0, r1 in
            let rows = Int32(r1 - r0), sx = sx + r0, a16 = a16 + r0 * k2
            if w.qmax > 0 {
                ce_quantize_rows_s16(x + r0 * k, w.smooth, a16, sx, rows, Int32(k), w.qmax)
            } else {
                let qx = qx + r0 * k
                if let sm = w.smooth {
                    ce_quantize_rows_s8_smooth(x + r0 * k, sm, qx, sx, rows, Int32(k))
                } else {
                    ce_quantize_rows_s8(x + r0 * k, qx, sx, rows, Int32(k))
                }
                ce_widen_rows_s8(qx, a16, rows, Int32(k))
            }
            if w.group > 0 {
                ce_qgemm_packed_grouped_f32(a16, w.panels, rows, Int32(n), Int32(k), w.group, sx, w.scales, bias, y + r0 * n)
            } else {
                ce_qgemm_packed_f32(a16, w.panels, rows, Int32(n), Int32(k), sx, w.scales, bias, y + r0 * n)
            }
        }
    }

    /// Splits rows 0..<m into one contiguous range per worker (at most `threads`, each at least
    /// `minRows` rows) and runs them concurrently.
    static func parallelRows(_ m: Int, minRows: Int = 1, _ body: (Int, Int) -> Void) {
        let parts = max(1, min(threads, m / max(1, minRows)))
        if parts == 1 { return body(0, m) }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: parts) { p in box.value(p * m / parts, (p + 1) * m / parts) }
        }
    }

    /// Runs body(task, worker) for tasks 0..<count on `threads` workers, each task once, taken in order.
    static func parallelTasks(_ count: Int, _ body: (Int, Int) -> Void) {
        let workers = max(1, min(threads, count))
        if workers == 1 { for t in 0..<count { body(t, 0) }; return }
        let next = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        next.initialize(to: 0)
        defer { next.deallocate() }
        let counter = UncheckedSendable(next)
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                while true {
                    let t = ce_atomic_fetch_add(counter.value, 1)
                    if t >= count { break }
                    box.value(t, worker)
                }
            }
        }
    }

    /// Row-wise LayerNorm over `n` columns of `rows` rows, in place: (x − mean)/√(var + eps)·γ + β,
    /// biased variance, as torch.nn.LayerNorm.
    public static func layerNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int,
                                 gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float) {
        parallelRows(rows, minRows: 16) { r0, r1 in
            ce_layernorm_f32(x + r0 * n, nil, Int32(r1 - r0), Int32(n), gamma, beta, eps)
        }
    }

    /// x += r, then LayerNorm in place. The residual step of a post-norm block.
    public static func addLayerNorm(_ x: UnsafeMutablePointer<Float>, _ r: UnsafePointer<Float>, rows: Int, n: Int,
                                    gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float) {
        parallelRows(rows, minRows: 16) { r0, r1 in
            ce_layernorm_f32(x + r0 * n, r + r0 * n,
                             Int32(r1 - r0), Int32(n), gamma, beta, eps)
        }
    }

    /// GELU with erf, in place: 0.5·x·(1 + erf(x/√2)). torch.nn.functional.gelu(approximate="none").
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        parallelRows(count, minRows: 4096) { a, b in ce_gelu_f32(x + a, b - a) }
    }

    /// GELU, tanh approximation, in place. transformers "gelu_new" / "gelu_pytorch_tanh".
    public static func geluTanh(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let k: Float = 0.7978845608028654 // √(2/π)
        for i in 0..<count { let v = x[i]; x[i] = 0.5 * v * (1 + tanh(k * (v + 0.044715 * v * v * v))) }
    }

    public static func relu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count where x[i] < 0 { x[i] = 0 }
    }

    public static func tanhInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = tanh(x[i]) }
    }

    /// Softmax of each of `rows` rows of length n, in place, max-subtracted.
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        ce_softmax_rows_f32(x, Int32(rows), Int32(n))
    }

    /// Self-attention for one sequence of `len` tokens, all heads. q, k, v rows have stride `ld`
    /// (q at qkv, k at qkv+hidden, v at qkv+2·hidden for a fused [len, 3·hidden] buffer); head h
    /// occupies columns h·dh ..< (h+1)·dh. out is [len, hidden] with stride `ldOut`.
    /// scratch holds attentionScratch(len:headDim:) floats. Keys beyond `len` do not exist, so no mask is
    /// needed: this equals masked attention whose padding logits underflow exp to exactly 0.
    /// AVX2 with dh a multiple of 8 (AVX-512 with dh a multiple of 16): the fused C kernel (ce_attention_head_f32);
    /// else two sgemm and a softmax.
    public static func attention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
                                 out: UnsafeMutablePointer<Float>, ldOut: Int, len: Int, heads: Int, headDim dh: Int,
                                 scratch: UnsafeMutablePointer<Float>) {
        let scale = 1 / Float(dh).squareRoot()
        let l = Int32(len), d = Int32(dh)
        for h in 0..<heads {
            let off = h * dh
            if ce_attention_head_f32(q + off, k + off, v + off, Int32(ld), out + off, Int32(ldOut), l, d, scale, scratch) == 1 { continue }
            // scores[i, j] = scale · q_i · k_j
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, l, l, d, scale,
                        q + off, Int32(ld), k + off, Int32(ld), 0, scratch, l)
            softmaxRows(scratch, rows: len, n: len)
            // out_h[i, :] = Σ_j p[i, j] v_j
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, l, d, l, 1,
                        scratch, l, v + off, Int32(ld), 0, out + off, Int32(ldOut))
        }
    }

    /// Local (sliding-window) attention for one head of one sequence: query i attends to keys j with
    /// |i − j| ≤ `window` (ModernBERT's local layers, transformers' bidirectional sliding-window mask). Layouts as
    /// `attention`; scratch holds at least min(len, 2·window + 1) floats. A window that covers the whole sequence
    /// (len ≤ window + 1) is global attention and runs that kernel.
    public static func localAttention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
                                      out: UnsafeMutablePointer<Float>, ldOut: Int, len: Int, headDim dh: Int, window: Int,
                                      scratch: UnsafeMutablePointer<Float>) {
        if len <= window + 1 {
            return attention(q: q, k: k, v: v, ld: ld, out: out, ldOut: ldOut, len: len, heads: 1, headDim: dh, scratch: scratch)
        }
        ce_attention_window_f32(q, k, v, Int32(ld), out, Int32(ldOut), Int32(len), Int32(dh), 1 / Float(dh).squareRoot(),
                                Int32(window), scratch)
    }

    /// Rotary position embedding in place (transformers apply_rotary_pos_emb with rotate_half): for each of `len`
    /// rows (stride `ld`, row t at position t) and each of `heads` heads of `dh` columns, with c = cos[t, j],
    /// s = sin[t, j] and h = dh / 2: x[j] ← x[j]·c − x[j+h]·s and x[j+h] ← x[j+h]·c + x[j]·s for j < h.
    /// cos and sin are RotaryTable rows ([positions, dh / 2]).
    public static func rotary(_ x: UnsafeMutablePointer<Float>, ld: Int, len: Int, heads: Int, headDim dh: Int,
                              cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let half = dh / 2
        for t in 0..<len {
            let c = cos + t * half, s = sin + t * half
            for h in 0..<heads {
                let row = x + t * ld + h * dh
                for j in 0..<half {
                    let a = row[j], b = row[j + half]
                    let ac = a * c[j], bs = b * s[j], bc = b * c[j], sa = a * s[j]
                    row[j] = ac - bs
                    row[j + half] = bc + sa
                }
            }
        }
    }

    /// The gated feed-forward activation (ModernBERT's GLU): for each of `rows` rows of `up` = [u | g]
    /// (2·n columns), out[r, j] = act(u[r, j]) · g[r, j]. `up`'s first halves are overwritten with act(u).
    static func gated(_ up: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, n: Int, act: HiddenActivation) {
        parallelRows(rows, minRows: 16) { r0, r1 in
            for r in r0..<r1 {
                let u = up + r * 2 * n, o = out + r * n
                switch act {
                case .gelu: ce_gelu_f32(u, n)
                case .geluTanh: geluTanh(u, count: n)
                case .relu: relu(u, count: n)
                case .silu: silu(u, count: n)
                }
                for j in 0..<n { o[j] = u[j] * u[n + j] }
            }
        }
    }

    /// x += y over `count` values: a residual connection.
    static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    /// Floats of attention scratch for one head of a sequence of `len` tokens (either path).
    public static func attentionScratch(len: Int, headDim: Int) -> Int {
        max(len * len, ce_attention_scratch_floats(Int32(len), Int32(headDim)))
    }

    /// Workers per parallel kernel. OpenBLAS itself runs single-threaded inside each worker, so one
    /// pool of threads does all the work (no BLAS threads spinning while other kernels run).
    nonisolated(unsafe) public private(set) static var threads: Int = {
        singleThreadedBLAS()
        return ProcessInfo.processInfo.activeProcessorCount
    }()

    public static func setThreads(_ n: Int) {
        singleThreadedBLAS()
        threads = max(1, n)
    }

    /// Before loading a model: BLAS single-threaded, and its idle worker threads stopped (see below).
    public static func prepare() { _ = threads }

    /// OpenBLAS (pthreads build) starts its worker threads when the library loads, and they spin on
    /// sched_yield for a while before sleeping: on a 2-core box that is most of a core taken from model
    /// loading. With one BLAS thread per call they are never used, so they are shut down (by name, when
    /// the loaded OpenBLAS has the call; other BLAS builds are left as they are).
    private static func singleThreadedBLAS() {
        openblas_set_num_threads(1)
        typealias Shutdown = @convention(c) () -> Int32
        if let f = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") {
            _ = unsafeBitCast(f, to: Shutdown.self)()
        }
    }
}

/// Hands a non-Sendable value (a closure over raw pointers into disjoint rows) to worker threads that
/// finish before the call returns.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

extension Kernels {
    /// One int8 linear as the executor runs it (row quantization, prepacked GEMM where the CPU allows,
    /// fused epilogue), standing alone: for kernel benchmarks.
    /// The packed int8 kernel this CPU runs: "AVX-512 VNNI", "AVX2" or "portable" (ARM64: "dotprod sdot", "NEON smlal"
    /// or "portable").
    public static var packedInt8Path: String {
        #if arch(arm64)
        return ["portable", "NEON smlal", "dotprod sdot"][Int(ce_qgemm_packed_variant())]
        #else
        return ["portable", "AVX2", "AVX-512 VNNI"][Int(ce_qgemm_packed_variant())]
        #endif
    }

    /// The u8 × s8 kernel this CPU runs for int8 activations.
    public static var u8s8Path: String {
        #if arch(arm64)
        return ["portable", "NEON smull", "dotprod sdot", "i8mm smmla"][Int(ce_qgemm_u8s8_variant())]
        #else
        return ["portable", "AVX2 vpmaddubsw", ce_qgemm_u8s8_ymm_encoding() == 1 ? "AVX-VNNI ymm vpdpbusd" : "AVX-512 VL ymm vpdpbusd",
         "AVX-512 VNNI zmm vpdpbusd"][Int(ce_qgemm_u8s8_variant())]
        #endif
    }

    public final class Int8Linear {
        private let q: UnsafeMutablePointer<Int8>
        private let scales: UnsafeMutablePointer<Float>
        private var panelsBox: OwnedBytesBox?
        private var corrections: UnsafeMutablePointer<Int32>?
        private var scratch: Int8Scratch?
        public let n: Int, k: Int, group: Int
        private let qmax: Int32
        /// Whether the weights are panels (u8 × s8 quads for int8 activations, int16 pairs for int16 ones).
        public var packed: Bool { panelsBox != nil }
        private var weight: LinearWeight {
            guard let box = panelsBox else { return .int8RowMajor(Int8RowMajor(q: q, scales: scales, smooth: nil)) }
            let panels = UnsafePointer(box.pointer.assumingMemoryBound(to: Int8.self))
            if let corrections {
                return .int8Quads(Int8Quads(panels: panels, corrections: corrections, scales: scales, smooth: nil, group: Int32(group),
                                            activationGroups: 1))
            }
            return .int8Packed(Int8Packed(panels: panels, scales: scales, smooth: nil, qmax: qmax, group: Int32(group)))
        }

        /// `group` > 0: `scales` holds one scale per output column and group of `group` inputs, [n, ceil(k / group)].
        /// int8 activations run the u8 × s8 kernel, as the executor does.
        public init(weights: [Int8], scales s: [Float], n: Int, k: Int, group: Int = 0, int16Activations: Bool = false) {
            precondition(weights.count == n * k && s.count == n * (group > 0 ? (k + group - 1) / group : 1) && group % 2 == 0)
            self.n = n
            self.k = k
            self.group = group
            qmax = int16Activations ? ce_s16_qmax_grouped(Int32(k), Int32(group)) : 0
            q = .allocate(capacity: n * k)
            q.initialize(from: weights, count: n * k)
            scales = .allocate(capacity: s.count)
            scales.initialize(from: s, count: s.count)
            if !int16Activations, ce_u8s8_supports_group(Int32(k), Int32(group)) == 1 {
                let box = OwnedBytesBox(count: ce_qgemm_u8_packed_size(Int32(n), Int32(k)))
                ce_qgemm_u8_pack_s8(q, box.pointer.assumingMemoryBound(to: Int8.self), Int32(n), Int32(k))
                let c = UnsafeMutablePointer<Int32>.allocate(capacity: s.count)
                ce_qgemm_u8_corrections(box.pointer.assumingMemoryBound(to: Int8.self), Int32(n), Int32(k), Int32(group), c)
                corrections = c
                panelsBox = box
            } else if ce_fp32_variant() == 1 || group > 0 || int16Activations {
                let box = OwnedBytesBox(count: ce_qgemm_packed_size(Int32(n), Int32(k)))
                ce_qgemm_pack_s8(q, box.pointer.assumingMemoryBound(to: Int8.self), Int32(n), Int32(k))
                panelsBox = box
            }
        }

        deinit { q.deallocate(); scales.deallocate(); corrections?.deallocate() }

        /// y[m, n] = x[m, k] · wᵀ through the int8 path.
        public func run(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, m: Int) {
            if scratch == nil || scratch!.rows < m { scratch = Int8Scratch(rows: m, maxK: k, maxN: n) }
            Kernels.linear(x, weight, nil, y, m: m, n: n, k: k, scratch: scratch!)
        }
    }

    final class OwnedBytesBox {
        let pointer: UnsafeMutableRawPointer
        init(count: Int) { pointer = .allocate(byteCount: max(count, 1), alignment: 64) }
        deinit { pointer.deallocate() }
    }
}
