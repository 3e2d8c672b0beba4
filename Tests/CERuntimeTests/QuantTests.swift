import CECore
import CEGraph
import CEImport
import CEKernels
import CEQuant
import CERuntime
import CETestSupport
import CEVerify
import Foundation
import XCTest

/// int8 kernels against their scalar reference; quantizer error bounds; fidelity of quantized models
/// against the fp32 reference goldens.
final class QuantKernelTests: XCTestCase {
    /// The index's stage-1 kernel (int8 queries · int8 rows, int32) on every path the CPU has, bit for bit with the
    /// reference: odd widths around the 16- and 64-byte steps, query counts around its groups of 4, codes incl. −128.
    func testDotS8RowsMatchesReferenceOnEveryPath() {
        var rng = SeededRNG(seed: 31)
        defer { ce_limit_dot_s8_variant(-1) }
        for (nq, n, d) in [(1, 1, 1), (3, 5, 15), (4, 7, 16), (5, 9, 63), (9, 4, 64), (6, 11, 65), (2, 3, 129), (7, 13, 384), (1, 2, 1000)] {
            let q = (0..<(nq * d)).map { _ in Int8.random(in: .min ... .max, using: &rng) }
            var rows = (0..<(n * d)).map { _ in Int8.random(in: .min ... .max, using: &rng) }
            rows[0] = .min
            var ref = [Int32](repeating: 0, count: nq * n)
            ce_dot_s8_rows_reference(q, Int32(nq), rows, n, Int32(d), &ref)
            for level in [0, 1, 2] {
                ce_limit_dot_s8_variant(Int32(level))
                var got = [Int32](repeating: -1, count: nq * n)
                ce_dot_s8_rows(q, Int32(nq), rows, n, Int32(d), &got)
                XCTAssertEqual(got, ref, "level \(level) (this CPU: \(ce_dot_s8_variant())) nq=\(nq) n=\(n) d=\(d)")
            }
        }
        // All −128 against all −128 at the widest exact width: 65,536 · 2^14 = 2^30.
        let d = 1 << 16, q = [Int8](repeating: .min, count: d)
        var got: [Int32] = [0]
        ce_dot_s8_rows(q, 1, q, 1, Int32(d), &got)
        XCTAssertEqual(got, [1 << 30])
    }

    func testInt8GemmVariantsMatchReferenceExactly() {
        var rng = SeededRNG(seed: 11)
        for (m, n, k) in [(1, 1, 1), (3, 5, 17), (2, 4, 16), (7, 9, 33), (13, 31, 129), (5, 3, 1536), (33, 65, 384)] {
            let a = (0..<(m * k)).map { _ in Int8.random(in: -127...127, using: &rng) }
            let w = (0..<(n * k)).map { _ in Int8.random(in: -127...127, using: &rng) }
            var ref = [Int32](repeating: 0, count: m * n), avx2 = ref, dispatched = ref
            ce_qgemm_s8_reference(a, w, &ref, Int32(m), Int32(n), Int32(k))
            ce_qgemm_s8_avx2(a, w, &avx2, Int32(m), Int32(n), Int32(k))
            ce_qgemm_s8(a, w, &dispatched, Int32(m), Int32(n), Int32(k))
            XCTAssertEqual(avx2, ref, "avx2 m=\(m) n=\(n) k=\(k)")
            XCTAssertEqual(dispatched, ref, "dispatched (variant \(ce_qgemm_s8_variant())) m=\(m) n=\(n) k=\(k)")
        }
    }

    /// The prepacked kernels (AVX-512 VNNI, AVX2 and portable, each the CPU has) against the exact int32
    /// reference plus the shared epilogue, on odd shapes: column tails within a 16-wide panel and a 32-wide panel
    /// pair, odd k, every row tile.
    func testPackedInt8GemmMatchesReference() {
        var rng = SeededRNG(seed: 14)
        for (m, n, k) in [(1, 1, 1), (3, 5, 17), (7, 16, 16), (13, 31, 129), (5, 17, 383), (11, 48, 384), (97, 33, 65),
                          (15, 100, 66)] {
            let a = (0..<(m * k)).map { _ in Int8.random(in: -127...127, using: &rng) }
            let w = (0..<(n * k)).map { _ in Int8.random(in: -127...127, using: &rng) }
            let sx = rng.floats(m, scale: 0.02).map { abs($0) + 1e-3 }, sw = rng.floats(n, scale: 0.02).map { abs($0) + 1e-3 }
            let bias = rng.floats(n)
            var acc = [Int32](repeating: 0, count: m * n)
            ce_qgemm_s8_reference(a, w, &acc, Int32(m), Int32(n), Int32(k))
            forEachPackedVariant { variant in
                var want = [Float](repeating: 0, count: m * n)
                ce_dequant_f32(acc, sx, sw, bias, &want, Int32(m), Int32(n))
                var packed = [Int8](repeating: -1, count: ce_qgemm_packed_size(Int32(n), Int32(k)))
                ce_qgemm_pack_s8(w, &packed, Int32(n), Int32(k))
                var a16 = [Int16](repeating: -1, count: m * ((k + 1) & ~1))
                ce_widen_rows_s8(a, &a16, Int32(m), Int32(k))
                let y = packedGEMM(a16, packed, m: m, n: n, k: k, sx, sw, bias)
                XCTAssertEqual(y, want, "packed m=\(m) n=\(n) k=\(k) \(variant)")
            }
        }
    }

    /// The packed kernels dispatch to the widest path the CPU and OS offer, and the cap the tests use holds.
    func testPackedKernelDispatch() {
        defer { ce_force_portable(0); ce_limit_packed_variant(-1) }
        let f = Int(ce_cpu_features())
        #if arch(arm64)
        let expected: Int32 = f & Int(CE_CPU_NEON) == 0 ? 0 : f & Int(CE_CPU_DOTPROD) != 0 ? 2 : 1
        #else
        let avx2 = f & CE_CPU_AVX2 != 0 && f & CE_CPU_FMA != 0
        let vnniBits = Int(CE_CPU_AVX512F | CE_CPU_AVX512BW | CE_CPU_AVX512VNNI)
        let expected: Int32 = avx2 && f & vnniBits == vnniBits ? 2 : avx2 ? 1 : 0
        #endif
        XCTAssertEqual(ce_qgemm_packed_variant(), expected, "features \(String(f, radix: 2))")
        ce_limit_packed_variant(1)
        XCTAssertEqual(ce_qgemm_packed_variant(), min(expected, 1))
        ce_force_portable(1)
        XCTAssertEqual(ce_qgemm_packed_variant(), 0)
    }

    /// A linear stored as row blocks (q, k, v of a fused QKV) packs to the same panels as its rows
    /// concatenated, including blocks that end inside a 16-column panel, and pad columns are zero.
    func testPackingRowBlocksEqualsPackingTheConcatenation() {
        var rng = SeededRNG(seed: 21)
        for (rows, k) in [([5, 16, 7], 33), ([16, 16, 16], 384), ([1], 1), ([3, 1, 29], 2)] {
            let blocks = rows.map { r in (0..<(r * k)).map { _ in Int8.random(in: -127...127, using: &rng) } }
            let n = rows.reduce(0, +)
            var whole = [Int8](repeating: -128, count: ce_qgemm_packed_size(Int32(n), Int32(k)))
            ce_qgemm_pack_s8(blocks.flatMap { $0 }, &whole, Int32(n), Int32(k))
            var fromBlocks = [Int8](repeating: -128, count: whole.count)
            let pointers = blocks.map { b in
                let p = UnsafeMutablePointer<Int8>.allocate(capacity: b.count)
                p.initialize(from: b, count: b.count)
                return p
            }
            defer { pointers.forEach { $0.deallocate() } }
            ce_qgemm_pack_s8_blocks(pointers.map { Optional(UnsafePointer($0)) }, rows.map(Int32.init), Int32(rows.count), &fromBlocks, Int32(k))
            XCTAssertEqual(fromBlocks, whole, "rows \(rows) k \(k)")
            XCTAssertFalse(whole.contains(-128), "every byte of the panels is written (weights are in ±127)")
            // Column j, position t sits at panel j/16, pair t/2, slot 2(j%16) + t%2; the rest is zero.
            let k2 = (k + 1) & ~1
            var expected = [Int8](repeating: 0, count: whole.count)
            let flat = blocks.flatMap { $0 }
            for j in 0..<n { for t in 0..<k { expected[(j / 16) * k2 * 16 + (t / 2) * 32 + 2 * (j % 16) + t % 2] = flat[j * k + t] } }
            XCTAssertEqual(whole, expected, "layout rows \(rows) k \(k)")
        }
    }

    /// int16 activation rows: the AVX2 quantizer equals the portable twin value for value (with and without
    /// smoothing, odd k, ties), the range bound keeps every int32 sum exact, and the packed kernel on those
    /// rows equals an exact Int64 sum plus the shared epilogue.
    func testInt16ActivationRowsAndPackedGemmMatchReference() {
        var rng = SeededRNG(seed: 21)
        defer { ce_force_portable(0) }
        for k in [1, 2, 17, 384, 1536, 3072, 4096, 100_000] {
            let q = Int(ce_s16_qmax(Int32(k))), k2 = (k + 1) & ~1
            XCTAssertLessThanOrEqual(q * 127 * k2, Int(Int32.max), "k=\(k)")
            XCTAssertGreaterThan((q + 1) * 127 * k2, Int(Int32.max) - (q == 32767 ? Int(Int32.max) : 0), "qmax is the largest safe value, k=\(k)")
        }
        XCTAssertEqual(ce_s16_qmax(384), 32767)
        for (m, n, k) in [(1, 1, 1), (3, 5, 17), (7, 16, 16), (13, 31, 129), (5, 17, 383), (11, 48, 384), (4, 20, 1536),
                          (23, 81, 130)] {
            var x = rng.floats(m * k, scale: 6)
            if k > 3 { x[1] = 0.5 * (x[0] == 0 ? 1 : x[0]); x[2] = -x[1] }
            let f = rng.floats(k, scale: 2).map { abs($0) + 0.01 }
            let qmax = ce_s16_qmax(Int32(k)), k2 = (k + 1) & ~1
            for smooth in [nil, f] {
                var want = [Int16](repeating: -1, count: m * k2), got = want
                var sWant = [Float](repeating: 0, count: m), sGot = sWant
                for portable: Int32 in [0, 1] {
                    ce_force_portable(portable)
                    ce_quantize_rows_s16_reference(x, smooth, &want, &sWant, Int32(m), Int32(k), qmax)
                    ce_quantize_rows_s16(x, smooth, &got, &sGot, Int32(m), Int32(k), qmax)
                    XCTAssertEqual(got, want, "m=\(m) k=\(k) smooth=\(smooth != nil) portable=\(portable)")
                    XCTAssertEqual(sGot, sWant)
                }
                // The rule itself: each row's largest |value| maps to ±qmax, the tail is zero, |a| ≤ qmax.
                for r in 0..<m {
                    let row = want[(r * k2)..<(r * k2 + k)]
                    XCTAssertLessThanOrEqual(row.map { abs(Int($0)) }.max()!, Int(qmax))
                    if x[(r * k)..<(r * k + k)].contains(where: { $0 != 0 }) { XCTAssertEqual(row.map { abs(Int($0)) }.max()!, Int(qmax)) }
                    if k2 > k { XCTAssertEqual(want[r * k2 + k], 0) }
                    for t in 0..<k {
                        let y = x[r * k + t] * (smooth?[t] ?? 1)
                        // Half a step, plus fp32 rounding of y·(1/scale) (a few ulp of y).
                        XCTAssertLessThanOrEqual(abs(Double(want[r * k2 + t]) * Double(sWant[r]) - Double(y)),
                                                 0.5 * Double(sWant[r]) + 1e-6 * Double(abs(y)))
                    }
                }
                // Packed GEMM on these rows, worst-case weights included (all ±127).
                let w = (0..<(n * k)).map { i in i % 7 == 0 ? Int8(127) : Int8.random(in: -127...127, using: &rng) }
                let sw = rng.floats(n, scale: 0.02).map { abs($0) + 1e-3 }, bias = rng.floats(n)
                var acc = [Int32](repeating: 0, count: m * n)
                for i in 0..<m { for j in 0..<n {
                    var s: Int64 = 0
                    for t in 0..<k { s += Int64(want[i * k2 + t]) * Int64(w[j * k + t]) }
                    XCTAssertLessThanOrEqual(abs(s), Int64(Int32.max))
                    acc[i * n + j] = Int32(s)
                } }
                var expect = [Float](repeating: 0, count: m * n)
                ce_dequant_f32(acc, sWant, sw, bias, &expect, Int32(m), Int32(n))
                var packed = [Int8](repeating: -1, count: ce_qgemm_packed_size(Int32(n), Int32(k)))
                ce_qgemm_pack_s8(w, &packed, Int32(n), Int32(k))
                forEachPackedVariant { variant in
                    let y = packedGEMM(want, packed, m: m, n: n, k: k, sWant, sw, bias)
                    XCTAssertEqual(y, expect, "packed int16 m=\(m) n=\(n) k=\(k) \(variant)")
                }
            }
        }
    }

    /// The grouped kernel (one weight scale per output column and group of input positions) against its
    /// definition computed here: exact int32 sums per group, each folded in as (float)acc·scale and added in group
    /// order, times the row scale, plus the bias. AVX2 and portable paths alike, on odd shapes (column tails, odd k,
    /// a last group shorter than the rest, one group), with int16 activations at the grouped bound and ±127 weights.
    func testGroupedPackedGemmMatchesItsDefinition() {
        var rng = SeededRNG(seed: 31)
        XCTAssertEqual(ce_s16_qmax_grouped(1536, 64), 32767)
        XCTAssertEqual(ce_s16_qmax_grouped(100_000, 1024), ce_s16_qmax(1024))
        XCTAssertEqual(ce_s16_qmax_grouped(100_000, 200_000), ce_s16_qmax(100_000))
        for (m, n, k, group) in [(1, 1, 1, 2), (3, 5, 17, 4), (7, 16, 64, 64), (13, 31, 129, 64), (5, 17, 383, 64),
                                 (11, 48, 384, 64), (4, 20, 1536, 64), (6, 33, 130, 128), (2, 3, 40, 1000),
                                 (23, 81, 130, 64), (9, 64, 1536, 64)] {
            let groups = (k + group - 1) / group, k2 = (k + 1) & ~1
            let qmax = ce_s16_qmax_grouped(Int32(k), Int32(group))
            var a16 = [Int16](repeating: 0, count: m * k2)
            for i in 0..<m { for t in 0..<k { a16[i * k2 + t] = Int16(i % 2 == 0 ? Int(qmax) : Int.random(in: -Int(qmax)...Int(qmax), using: &rng)) } }
            let w = (0..<(n * k)).map { i in i % 3 == 0 ? Int8(127) : Int8.random(in: -127...127, using: &rng) }
            let sx = rng.floats(m, scale: 0.02).map { abs($0) + 1e-3 }
            let sw = rng.floats(n * groups, scale: 0.02).map { abs($0) + 1e-4 }, bias = rng.floats(n)
            var want = [Float](repeating: 0, count: m * n)
            for i in 0..<m { for j in 0..<n {
                var sum: Float = 0
                for g in 0..<groups {
                    var acc: Int64 = 0
                    for t in (g * group)..<min(k, (g + 1) * group) { acc += Int64(a16[i * k2 + t]) * Int64(w[j * k + t]) }
                    XCTAssertLessThanOrEqual(abs(acc), Int64(Int32.max), "one group's sum fits int32")
                    let p = Float(Int32(acc)) * sw[j * groups + g]
                    sum = sum + p
                }
                let v = sum * sx[i]
                want[i * n + j] = v + bias[j]
            } }
            var packed = [Int8](repeating: -1, count: ce_qgemm_packed_size(Int32(n), Int32(k)))
            ce_qgemm_pack_s8(w, &packed, Int32(n), Int32(k))
            var reference = [Float](repeating: .nan, count: m * n)
            ce_qgemm_packed_grouped_f32_reference(a16, packed, Int32(m), Int32(n), Int32(k), Int32(group), sx, sw, bias, &reference)
            XCTAssertEqual(reference, want, "reference m=\(m) n=\(n) k=\(k) group=\(group)")
            forEachPackedVariant { variant in
                var y = [Float](repeating: .nan, count: m * n)
                packed.withUnsafeBufferPointer { p in
                    let box = UnsafeMutableRawPointer.allocate(byteCount: max(1, p.count), alignment: 64)
                    defer { box.deallocate() }
                    box.copyMemory(from: p.baseAddress!, byteCount: p.count)
                    ce_qgemm_packed_grouped_f32(a16, box.assumingMemoryBound(to: Int8.self), Int32(m), Int32(n), Int32(k), Int32(group), sx, sw, bias, &y)
                }
                XCTAssertEqual(y, want, "grouped m=\(m) n=\(n) k=\(k) group=\(group) \(variant)")
            }
        }
    }

    func testActivationQuantizerMatchesWeightRule() {
        var rng = SeededRNG(seed: 13)
        let x = rng.floats(3 * 50, scale: 4)
        var q = [Int8](repeating: 0, count: x.count), s = [Float](repeating: 0, count: 3)
        ce_quantize_rows_s8(x, &q, &s, 3, 50)
        for r in 0..<3 {
            for c in 0..<50 { XCTAssertLessThanOrEqual(abs(Float(q[r * 50 + c]) * s[r] - x[r * 50 + c]), s[r] / 2 * 1.001) }
        }
    }

    /// A smoothed int8 linear computes (x·f)·(W/f)ᵀ: the same product as W·x up to int8 rounding, and
    /// the graph carries one vector for fused Q, K, V.
    func testSmoothedGraphValidatesAndRuns() throws {
        let dir = repositoryRoot().appendingPathComponent("golden/models/tiny-bert-l1")
        let model = try ModelDirectory.load(dir)
        let ce = try CrossEncoder(model: model)
        var stats = CalibrationStats()
        ce.executor.observer = { stats.observe($0, $1, rows: $2, cols: $3) }
        let pairs = Array(Calibration.defaultPairs.prefix(8))
        let reference = try ce.logits(pairs)
        ce.executor.observer = nil
        XCTAssertEqual(stats.activationMax.count, 4 * model.graph.hyperparameters.numHiddenLayers)
        var m = model
        m.graph = try Quantize.apply(.int8, to: model.graph, activationMax: stats.activationMax)
        let q = m.graph.weights[TensorName.smooth(of: TensorName.attnQ(0).weight)]!
        XCTAssertEqual(Array(q.storage.bytes), Array(m.graph.weights[TensorName.smooth(of: TensorName.attnV(0).weight)]!.storage.bytes))
        let smoothed = try CrossEncoder(model: m).logits(pairs)
        for (a, b) in zip(smoothed, reference) { XCTAssertEqual(a[0], b[0], accuracy: 0.05 * max(1, abs(b[0]))) }
        // Different vectors for Q and K are refused.
        var bad = m.graph
        bad.weights[TensorName.smooth(of: TensorName.attnK(0).weight)] = Tensor(floats: [Float](repeating: 1, count: q.shape.dims[0]), shape: q.shape)
        XCTAssertThrowsError(try bad.validate())
    }
}

final class QuantFidelityTests: XCTestCase {
    /// Spearman rank correlation of two score lists (average ranks for ties).
    func spearman(_ a: [Float], _ b: [Float]) -> Double {
        func ranks(_ v: [Float]) -> [Double] {
            let order = v.indices.sorted { v[$0] < v[$1] }
            var r = [Double](repeating: 0, count: v.count)
            var i = 0
            while i < order.count {
                var j = i
                while j + 1 < order.count, v[order[j + 1]] == v[order[i]] { j += 1 }
                for t in i...j { r[order[t]] = Double(i + j) / 2 }
                i = j + 1
            }
            return r
        }
        let ra = ranks(a), rb = ranks(b)
        let ma = ra.reduce(0, +) / Double(ra.count), mb = rb.reduce(0, +) / Double(rb.count)
        var num = 0.0, da = 0.0, db = 0.0
        for (x, y) in zip(ra, rb) { num += (x - ma) * (y - mb); da += (x - ma) * (x - ma); db += (y - mb) * (y - mb) }
        return num / (da * db).squareRoot()
    }

    func fidelity(_ precision: Quantize.Precision, golden: String, plan: Quantize.Plan = .all) throws -> (maxLogit: Float, meanLogit: Float, minSpearman: Double, top1: Double)? {
        let root = repositoryRoot()
        let g = try GoldenSet.load(path: root.appendingPathComponent(golden).path)
        let dir = root.appendingPathComponent(g.modelDirectory)
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path) else {
            if ProcessInfo.processInfo.environment["CETOOL_REQUIRE_MODELS"] == "1" { XCTFail("model missing: \(dir.path)") }
            return nil
        }
        var model = try ModelDirectory.load(dir, maxLength: g.maxLength)
        model.graph = try Quantize.apply(precision, to: model.graph, plan: plan)
        let ce = try CrossEncoder(model: model)
        let logits = try ce.logits(g.cases.map { ($0.query, $0.document) })
        var maxD: Float = 0, sum: Float = 0, count = 0
        for (row, c) in zip(logits, g.cases) {
            for (o, r) in zip(row, c.logits) { maxD = max(maxD, abs(o - r)); sum += abs(o - r); count += 1 }
        }
        var minRho = 1.0, top1 = 0
        for r in g.rankings {
            let ours = try ce.predict(r.documents.map { (r.query, $0) }, activation: .identity)
            var ref = [Float](repeating: 0, count: r.documents.count)
            for (i, s) in r.result { ref[i] = s }
            minRho = min(minRho, spearman(ours, ref))
            if ours.indices.max(by: { ours[$0] < ours[$1] }) == r.result.first?.0 { top1 += 1 }
        }
        return (maxD, sum / Float(max(count, 1)), minRho, g.rankings.isEmpty ? 1 : Double(top1) / Double(g.rankings.count))
    }

    func testFP16AndBF16StayWithinTheirProfiles() throws {
        for (p, bound) in [(Quantize.Precision.fp16, ToleranceProfile.fp16.logitAbsolute), (.bf16, ToleranceProfile.bf16.logitAbsolute)] {
            for golden in ["golden/minilm-l6-ce/golden.json", "golden/tiny-bert-l1/golden.json", "golden/tiny-bert-l3/golden.json"] {
                guard let f = try fidelity(p, golden: golden) else { continue }
                print("fidelity \(p.rawValue) \(golden): max |Δlogit| \(f.maxLogit), mean \(f.meanLogit), min Spearman \(f.minSpearman), top-1 \(f.top1)")
                XCTAssertLessThanOrEqual(f.maxLogit, bound, "\(p) \(golden)")
                XCTAssertEqual(f.top1, 1, "\(p) \(golden): top-1 agreement")
            }
        }
    }

    /// Prints int8 fidelity per plan for the record; not an assertion yet (see the convert issue: the
    /// int8 profile does not pass on minilm-l6-ce, whose head has weight norm 94).
    /// CETOOL_EXPLORE=1 swift test -c release -Xswiftc -enable-testing --filter testInt8Fidelity
    func testInt8FidelityReport() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["CETOOL_EXPLORE"] == "1", "set CETOOL_EXPLORE=1 to print int8 fidelity")
        for golden in ["golden/minilm-l6-ce/golden.json", "golden/tiny-bert-l1/golden.json", "golden/tiny-bert-l3/golden.json"] {
            for (label, plan) in [("all linears", Quantize.Plan.all), ("attention only", Quantize.Plan(ffnUp: false, ffnDown: false))] {
                guard let f = try fidelity(.int8, golden: golden, plan: plan) else { continue }
                print("int8 \(label) \(golden): max |Δlogit| \(f.maxLogit), mean \(f.meanLogit), min Spearman \(f.minSpearman), top-1 \(f.top1)")
            }
        }
    }
}

/// Runs `body` once per packed int8 kernel this CPU has (portable, AVX2, AVX-512 VNNI; ARM64 NEON, dotprod), naming it; the automatic
/// choice is restored afterwards.
func forEachPackedVariant(_ body: (String) -> Void) {
    defer { ce_force_portable(0); ce_limit_packed_variant(-1) }
    ce_limit_packed_variant(-1)
    let best = ce_qgemm_packed_variant()
    for v in 0...best {
        ce_force_portable(v == 0 ? 1 : 0)
        ce_limit_packed_variant(v)
        precondition(ce_qgemm_packed_variant() == v)
        body(Kernels.packedInt8Path)
    }
}

/// ce_qgemm_packed_f32 on int16 rows and packed panels, the panels first copied into 64-byte aligned memory
/// (the AVX2 path loads them with aligned loads, which [Int8] storage does not promise).
func packedGEMM(_ a16: [Int16], _ packed: [Int8], m: Int, n: Int, k: Int, _ sx: [Float], _ sw: [Float], _ bias: [Float]) -> [Float] {
    var y = [Float](repeating: .nan, count: m * n)
    packed.withUnsafeBufferPointer { p in
        let box = UnsafeMutableRawPointer.allocate(byteCount: max(1, p.count), alignment: 64)
        defer { box.deallocate() }
        box.copyMemory(from: p.baseAddress!, byteCount: p.count)
        ce_qgemm_packed_f32(a16, box.assumingMemoryBound(to: Int8.self), Int32(m), Int32(n), Int32(k), sx, sw, bias, &y)
    }
    return y
}
