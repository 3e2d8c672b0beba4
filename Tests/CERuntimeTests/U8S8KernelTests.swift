import CEKernels
import CERuntime
import CETestSupport
import XCTest

/// The u8 x s8 kernel (int8 activations on vpdpbusd) against its scalar twin, and the twin against the int8
/// activation rule it implements: the s8 codes widened through the packed int16 kernels, bit for bit.
final class U8S8KernelTests: XCTestCase {
    /// Odd shapes: column tails within a 16-wide panel and a 32-wide pair, k not a multiple of 4, every row tile,
    /// one group, a last group shorter than the rest, groups of 4 and 8.
    static let shapes: [(m: Int, n: Int, k: Int, group: Int)] = [
        (1, 1, 1, 0), (3, 5, 17, 0), (7, 16, 16, 0), (13, 31, 129, 0), (5, 17, 383, 0), (11, 48, 384, 0), (97, 33, 65, 0),
        (15, 100, 66, 0), (1, 1, 1, 4), (3, 5, 17, 4), (7, 16, 64, 64), (13, 31, 129, 64), (5, 17, 383, 64), (11, 48, 384, 64),
        (4, 20, 1536, 64), (6, 33, 130, 128), (2, 3, 40, 1000), (23, 81, 130, 64), (9, 64, 1536, 64), (100, 70, 200, 8),
        (5, 7, 6, 6), (19, 47, 3, 0),
    ]

    /// u8 rows: every quantizer variant gives the reference's bytes, and those are ce_quantize_rows_s8_smooth's codes
    /// plus 128 (the same scales), with the tail up to a multiple of 4 at 128.
    func testU8RowsAreTheS8CodesShifted() {
        var rng = SeededRNG(seed: 41)
        defer { ce_force_portable(0) }
        for k in [1, 3, 4, 17, 384, 1536, 1537] {
            let m = 5, k4 = (k + 3) & ~3
            var x = rng.floats(m * k, scale: 6)
            if k > 3 { x[1] = 0.5 * (x[0] == 0 ? 1 : x[0]); x[2] = -x[1] }
            x.replaceSubrange(k..<(2 * k), with: [Float](repeating: 0, count: k))   // an all-zero row
            let f = rng.floats(k, scale: 2).map { abs($0) + 0.01 }
            for smooth in [nil, f] {
                var want = [UInt8](repeating: 7, count: m * k4), sWant = [Float](repeating: 0, count: m)
                ce_quantize_rows_u8_reference(x, smooth, &want, &sWant, Int32(m), Int32(k))
                for portable: Int32 in [0, 1] {
                    ce_force_portable(portable)
                    var got = [UInt8](repeating: 9, count: m * k4), sGot = [Float](repeating: 0, count: m)
                    ce_quantize_rows_u8(x, smooth, &got, &sGot, Int32(m), Int32(k))
                    XCTAssertEqual(got, want, "k=\(k) smooth=\(smooth != nil) portable=\(portable)")
                    XCTAssertEqual(sGot, sWant)
                }
                var q = [Int8](repeating: 0, count: m * k), s8 = [Float](repeating: 0, count: m)
                if let smooth { ce_quantize_rows_s8_smooth_reference(x, smooth, &q, &s8, Int32(m), Int32(k)) }
                else { ce_quantize_rows_s8_reference(x, &q, &s8, Int32(m), Int32(k)) }
                XCTAssertEqual(sWant, s8, "k=\(k)")
                for r in 0..<m {
                    XCTAssertEqual((0..<k).map { Int(want[r * k4 + $0]) - 128 }, (0..<k).map { Int(q[r * k + $0]) }, "k=\(k) row \(r)")
                    XCTAssertEqual(Array(want[(r * k4 + k)..<(r * k4 + k4)]), [UInt8](repeating: 128, count: k4 - k))
                }
                XCTAssertEqual(sWant[1], 1, "an all-zero row has scale 1")
            }
        }
    }

    /// Quad panels: column j, position t at panel j/16, quad t/4, byte 4(j%16) + t%4; the rest zero. Row blocks pack
    /// as their concatenation. The corrections are 128 × each column's (group's) weight sum.
    func testQuadPanelLayoutAndCorrections() {
        var rng = SeededRNG(seed: 43)
        for (rows, k, group) in [([5, 16, 7], 33, 0), ([16, 16, 16], 384, 64), ([1], 1, 0), ([3, 1, 29], 2, 0), ([17], 130, 8)] {
            let blocks = rows.map { r in (0..<(r * k)).map { _ in Int8.random(in: -127...127, using: &rng) } }
            let n = rows.reduce(0, +), flat = blocks.flatMap { $0 }, k4 = (k + 3) & ~3
            var whole = [Int8](repeating: -128, count: ce_qgemm_u8_packed_size(Int32(n), Int32(k)))
            XCTAssertEqual(whole.count, (n + 15) / 16 * 16 * k4)
            ce_qgemm_u8_pack_s8(flat, &whole, Int32(n), Int32(k))
            var expected = [Int8](repeating: 0, count: whole.count)
            for j in 0..<n { for t in 0..<k { expected[(j / 16) * k4 * 16 + (t / 4) * 64 + 4 * (j % 16) + t % 4] = flat[j * k + t] } }
            XCTAssertEqual(whole, expected, "layout rows \(rows) k \(k)")
            var fromBlocks = [Int8](repeating: -128, count: whole.count)
            let pointers = blocks.map { b in
                let p = UnsafeMutablePointer<Int8>.allocate(capacity: b.count)
                p.initialize(from: b, count: b.count)
                return p
            }
            defer { pointers.forEach { $0.deallocate() } }
            ce_qgemm_u8_pack_s8_blocks(pointers.map { Optional(UnsafePointer($0)) }, rows.map(Int32.init), Int32(rows.count), &fromBlocks, Int32(k))
            XCTAssertEqual(fromBlocks, whole, "blocks rows \(rows) k \(k)")
            let groups = group > 0 && group < k ? (k + group - 1) / group : 1, g = group > 0 && group < k ? group : k
            var corr = [Int32](repeating: 0, count: n * groups)
            ce_qgemm_u8_corrections(whole, Int32(n), Int32(k), Int32(group), &corr)
            for j in 0..<n { for gi in 0..<groups {
                let sum = (gi * g..<min(k, (gi + 1) * g)).reduce(0) { $0 + Int(flat[j * k + $1]) }
                XCTAssertEqual(Int(corr[j * groups + gi]), 128 * sum, "corr j=\(j) g=\(gi)")
            } }
        }
        XCTAssertEqual(ce_u8s8_supports_group(384, 64), 1)
        XCTAssertEqual(ce_u8s8_supports_group(384, 0), 1)
        XCTAssertEqual(ce_u8s8_supports_group(384, 6), 0, "a group of 6 splits quads")
        XCTAssertEqual(ce_u8s8_supports_group(5, 6), 1, "one group")
    }

    /// Every variant this CPU has equals the scalar twin bit for bit, with and without bias, and the twin equals the
    /// int8 activation path it replaces: s8 codes widened to int16 through ce_qgemm_packed_f32 (one scale per column)
    /// or ce_qgemm_packed_grouped_f32_reference (groups). Weights include ±127 runs and u the extremes 1 and 255.
    func testU8S8GemmVariantsMatchTheTwinAndTheWidenedPath() {
        var rng = SeededRNG(seed: 47)
        for (m, n, k, group) in Self.shapes {
            let groups = group > 0 && group < k ? (k + group - 1) / group : 1, k4 = (k + 3) & ~3, k2 = (k + 1) & ~1
            let a = (0..<(m * k)).map { i in i % 11 == 0 ? Int8(-127) : i % 13 == 0 ? Int8(127) : Int8.random(in: -127...127, using: &rng) }
            let w = (0..<(n * k)).map { i in i % 5 == 0 ? Int8(127) : i % 7 == 0 ? Int8(-127) : Int8.random(in: -127...127, using: &rng) }
            var u = [UInt8](repeating: 128, count: m * k4)
            for i in 0..<m { for t in 0..<k { u[i * k4 + t] = UInt8(Int(a[i * k + t]) + 128) } }
            let sx = rng.floats(m, scale: 0.02).map { abs($0) + 1e-3 }
            let sw = rng.floats(n * groups, scale: 0.02).map { abs($0) + 1e-4 }, bias = rng.floats(n)
            let packed = aligned(ce_qgemm_u8_packed_size(Int32(n), Int32(k))) { ce_qgemm_u8_pack_s8(w, $0, Int32(n), Int32(k)) }
            defer { packed.deallocate() }
            var corr = [Int32](repeating: 0, count: n * groups)
            ce_qgemm_u8_corrections(packed, Int32(n), Int32(k), Int32(group), &corr)
            let shape = "m=\(m) n=\(n) k=\(k) group=\(group)"

            // The int8 activation path before this kernel: codes widened to int16, packed int16 x int8 kernels.
            var a16 = [Int16](repeating: 0, count: m * k2)
            ce_widen_rows_s8(a, &a16, Int32(m), Int32(k))
            let packed16 = aligned(ce_qgemm_packed_size(Int32(n), Int32(k))) { ce_qgemm_pack_s8(w, $0, Int32(n), Int32(k)) }
            defer { packed16.deallocate() }
            for b in [bias, nil] {
                var widened = [Float](repeating: .nan, count: m * n)
                if group > 0 {
                    ce_qgemm_packed_grouped_f32_reference(a16, packed16, Int32(m), Int32(n), Int32(k), Int32(group), sx, sw, b, &widened)
                } else {
                    var acc = [Int32](repeating: 0, count: m * n)
                    ce_qgemm_s8_reference(a, w, &acc, Int32(m), Int32(n), Int32(k))
                    ce_dequant_f32(acc, sx, sw, b, &widened, Int32(m), Int32(n))
                }
                var twin = [Float](repeating: .nan, count: m * n)
                ce_qgemm_u8s8_f32_reference(u, packed, corr, Int32(m), Int32(n), Int32(k), Int32(group), sx, sw, b, &twin)
                XCTAssertEqual(twin, widened, "twin vs widened int16 path \(shape) bias=\(b != nil)")
                forEachU8S8Variant { variant in
                    var y = [Float](repeating: .nan, count: m * n)
                    ce_qgemm_u8s8_f32(u, packed, corr, Int32(m), Int32(n), Int32(k), Int32(group), sx, sw, b, &y)
                    XCTAssertEqual(y, twin, "\(variant) \(shape) bias=\(b != nil)")
                }
            }
        }
    }

    /// Randomized shapes beyond the fixed list: m, n, k drawn so most are not multiples of the tiles.
    func testU8S8GemmRandomShapes() {
        var rng = SeededRNG(seed: 53)
        for _ in 0..<40 {
            let m = Int.random(in: 1...40, using: &rng), n = Int.random(in: 1...70, using: &rng), k = Int.random(in: 1...300, using: &rng)
            let group = [0, 4, 8, 12, 64][Int.random(in: 0...4, using: &rng)]
            let groups = group > 0 && group < k ? (k + group - 1) / group : 1, k4 = (k + 3) & ~3
            let u = (0..<(m * k4)).map { i in i % k4 >= k ? UInt8(128) : UInt8.random(in: 1...255, using: &rng) }
            let w = (0..<(n * k)).map { _ in Int8.random(in: -127...127, using: &rng) }
            let sx = rng.floats(m, scale: 0.02).map { abs($0) + 1e-3 }, sw = rng.floats(n * groups, scale: 0.02).map { abs($0) + 1e-4 }
            let bias = rng.floats(n)
            let packed = aligned(ce_qgemm_u8_packed_size(Int32(n), Int32(k))) { ce_qgemm_u8_pack_s8(w, $0, Int32(n), Int32(k)) }
            defer { packed.deallocate() }
            var corr = [Int32](repeating: 0, count: n * groups)
            ce_qgemm_u8_corrections(packed, Int32(n), Int32(k), Int32(group), &corr)
            var twin = [Float](repeating: .nan, count: m * n)
            ce_qgemm_u8s8_f32_reference(u, packed, corr, Int32(m), Int32(n), Int32(k), Int32(group), sx, sw, bias, &twin)
            // The twin's int32 sums are the exact Σ (u − 128)·w.
            if group == 0 {
                for i in 0..<m { for j in 0..<n {
                    var s = 0
                    for t in 0..<k { s += (Int(u[i * k4 + t]) - 128) * Int(w[j * k + t]) }
                    var v = Float(Int32(s)) * sx[i]
                    v = v * sw[j]
                    XCTAssertEqual(twin[i * n + j], v + bias[j], "exact sum m=\(m) n=\(n) k=\(k) i=\(i) j=\(j)")
                } }
            }
            forEachU8S8Variant { variant in
                var y = [Float](repeating: .nan, count: m * n)
                ce_qgemm_u8s8_f32(u, packed, corr, Int32(m), Int32(n), Int32(k), Int32(group), sx, sw, bias, &y)
                XCTAssertEqual(y, twin, "\(variant) m=\(m) n=\(n) k=\(k) group=\(group)")
            }
        }
    }

    /// int8_grouped inputs: the grouped quantizer equals its twin byte for byte and quantizes each weight group of a row
    /// as a row of its own; every variant of the product with per-group activation scales equals its twin, and the twin
    /// folds S = S + (float)acc_g·(sw·sx) in group order from the exact sums. Shapes from the fixed list with quad groups,
    /// plus random ones.
    func testGroupedActivationScales() {
        var rng = SeededRNG(seed: 59)
        defer { ce_force_portable(0) }
        var shapes = Self.shapes.filter { $0.group > 0 && $0.group % 4 == 0 && $0.group < $0.k }
        for _ in 0..<12 { shapes.append((Int.random(in: 1...30, using: &rng), Int.random(in: 1...70, using: &rng), Int.random(in: 5...300, using: &rng), [4, 8, 12, 64][Int.random(in: 0...3, using: &rng)])) }
        for (m, n, k, group) in shapes where group < k {
            let groups = (k + group - 1) / group, k4 = (k + 3) & ~3, shape = "m=\(m) n=\(n) k=\(k) group=\(group)"
            var x = rng.floats(m * k, scale: 4)
            for t in 0..<min(group, k) { x[t] = 0 }   // an all-zero group: scale 1
            let smooth = rng.floats(k, scale: 2).map { abs($0) + 0.01 }
            var u = [UInt8](repeating: 7, count: m * k4), sx = [Float](repeating: 0, count: m * groups)
            ce_quantize_rows_u8_groups_reference(x, smooth, &u, &sx, Int32(m), Int32(k), Int32(group))
            XCTAssertEqual(sx[0], 1, "all-zero group \(shape)")
            for portable: Int32 in [0, 1] {
                ce_force_portable(portable)
                var got = [UInt8](repeating: 9, count: m * k4), sGot = [Float](repeating: 0, count: m * groups)
                ce_quantize_rows_u8_groups(x, smooth, &got, &sGot, Int32(m), Int32(k), Int32(group))
                XCTAssertEqual(got, u, "quantizer \(shape) portable=\(portable)")
                XCTAssertEqual(sGot, sx)
            }
            ce_force_portable(0)
            for r in [0, m - 1] { for g in [0, groups - 1] {
                let t0 = g * group, len = min(group, k - t0), l4 = (len + 3) & ~3
                var one = [UInt8](repeating: 0, count: l4), s1: Float = 0
                ce_quantize_rows_u8_reference(Array(x[(r * k + t0)..<(r * k + t0 + len)]), Array(smooth[t0..<(t0 + len)]), &one, &s1, 1, Int32(len))
                XCTAssertEqual(Array(u[(r * k4 + t0)..<(r * k4 + t0 + l4)]), one, "group \(g) of row \(r) \(shape)")
                XCTAssertEqual(sx[r * groups + g], s1)
            } }
            let w = (0..<(n * k)).map { i in i % 5 == 0 ? Int8(127) : Int8.random(in: -127...127, using: &rng) }
            let sw = rng.floats(n * groups, scale: 0.02).map { abs($0) + 1e-4 }, bias = rng.floats(n)
            let packed = aligned(ce_qgemm_u8_packed_size(Int32(n), Int32(k))) { ce_qgemm_u8_pack_s8(w, $0, Int32(n), Int32(k)) }
            defer { packed.deallocate() }
            var corr = [Int32](repeating: 0, count: n * groups)
            ce_qgemm_u8_corrections(packed, Int32(n), Int32(k), Int32(group), &corr)
            var twin = [Float](repeating: .nan, count: m * n)
            ce_qgemm_u8s8_gx_f32_reference(u, packed, corr, Int32(m), Int32(n), Int32(k), Int32(group), sx, Int32(groups), sw, bias, &twin)
            for i in [0, m - 1] { for j in [0, n - 1] {
                var s: Float = 0
                for g in 0..<groups {
                    let acc = (g * group..<min(k, (g + 1) * group)).reduce(0) { $0 + (Int(u[i * k4 + $1]) - 128) * Int(w[j * k + $1]) }
                    let sc = sw[j * groups + g] * sx[i * groups + g]
                    let p = Float(Int32(acc)) * sc
                    s = s + p
                }
                XCTAssertEqual(twin[i * n + j], s + bias[j], "twin from exact sums \(shape) i=\(i) j=\(j)")
            } }
            forEachU8S8Variant { variant in
                for b in [bias, nil] {
                    var y = [Float](repeating: .nan, count: m * n), t = [Float](repeating: .nan, count: m * n)
                    ce_qgemm_u8s8_gx_f32_reference(u, packed, corr, Int32(m), Int32(n), Int32(k), Int32(group), sx, Int32(groups), sw, b, &t)
                    ce_qgemm_u8s8_gx_f32(u, packed, corr, Int32(m), Int32(n), Int32(k), Int32(group), sx, Int32(groups), sw, b, &y)
                    XCTAssertEqual(y, t, "\(variant) \(shape) bias=\(b != nil)")
                }
            }
        }
    }

    /// The dispatcher picks the widest path the CPU and OS offer; the cap the tests use holds.
    func testU8S8Dispatch() {
        defer { ce_force_portable(0); ce_limit_u8s8_variant(-1) }
        let f = Int(ce_cpu_features())
        #if arch(arm64)
        let expected: Int32 = f & Int(CE_CPU_NEON) == 0 ? 0 : f & Int(CE_CPU_I8MM) != 0 ? 3 : f & Int(CE_CPU_DOTPROD) != 0 ? 2 : 1
        #else
        let avx2 = f & Int(CE_CPU_AVX2) != 0 && f & Int(CE_CPU_FMA) != 0
        let zmm = Int(CE_CPU_AVX512F | CE_CPU_AVX512BW | CE_CPU_AVX512VNNI)
        let ymm = f & Int(CE_CPU_AVXVNNI) != 0 || (f & Int(CE_CPU_AVX512VL) != 0 && f & Int(CE_CPU_AVX512VNNI) != 0)
        let expected: Int32 = !avx2 ? 0 : f & zmm == zmm ? 3 : ymm ? 2 : 1
        #endif
        XCTAssertEqual(ce_qgemm_u8s8_variant(), expected, "features \(String(f, radix: 2))")
        ce_limit_u8s8_variant(1)
        XCTAssertEqual(ce_qgemm_u8s8_variant(), min(expected, 1))
        ce_limit_u8s8_variant(-1)
        ce_force_portable(1)
        XCTAssertEqual(ce_qgemm_u8s8_variant(), 0)
    }
}

/// Runs `body` once per u8 x s8 variant this CPU has (portable, AVX2, ymm vpdpbusd, zmm vpdpbusd; ARM64 NEON, sdot,
/// smmla), naming it.
func forEachU8S8Variant(_ body: (String) -> Void) {
    defer { ce_limit_u8s8_variant(-1) }
    for v: Int32 in 0...3 {
        ce_limit_u8s8_variant(v)
        guard ce_qgemm_u8s8_variant() == v else { continue }
        body(Kernels.u8s8Path)
    }
}

/// `count` bytes, 64-byte aligned, filled by `fill`; the caller deallocates.
private func aligned(_ count: Int, _ fill: (UnsafeMutablePointer<Int8>) -> Void) -> UnsafeMutablePointer<Int8> {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count), alignment: 64)
    let p = raw.bindMemory(to: Int8.self, capacity: max(1, count))
    fill(p)
    return p
}
