#ifndef CEKERNELS_H
#define CEKERNELS_H
#include <stdint.h>
#include <stddef.h>

/// CPU features detected at run time (bit mask of CE_CPU_*).
enum {
    CE_CPU_AVX2 = 1 << 0,
    CE_CPU_FMA = 1 << 1,
    CE_CPU_F16C = 1 << 2,
    CE_CPU_AVX512F = 1 << 3,
    CE_CPU_AVX512BW = 1 << 4,
    CE_CPU_AVX512VNNI = 1 << 5,
    CE_CPU_AVX512BF16 = 1 << 6,
    CE_CPU_AVX512VL = 1 << 7,
    /// AVX-VNNI: VEX-encoded vpdpbusd on ymm (CPUID.(7,1):EAX[4]), for CPUs without AVX-512.
    CE_CPU_AVXVNNI = 1 << 8,
    /// ARM64 (getauxval): Advanced SIMD (HWCAP_ASIMD), sdot/udot (HWCAP_ASIMDDP, ARMv8.2 dotprod), smmla/usmmla
    /// (HWCAP2_I8MM, ARMv8.6 i8mm).
    CE_CPU_NEON = 1 << 9,
    CE_CPU_DOTPROD = 1 << 10,
    CE_CPU_I8MM = 1 << 11,
};
int ce_cpu_features(void);

/// int8 GEMM kernels. c[m][n] = sum_k a[m][k] * w[n][k], exact int32 (|a|,|w| <= 127 and k < 2^17
/// cannot overflow). Row-major, leading dimensions = k for a and w, n for c.
/// Variants: 0 = portable scalar reference, 1 = AVX2. ce_qgemm_s8 dispatches on ce_cpu_features().
void ce_qgemm_s8_reference(const int8_t *a, const int8_t *w, int32_t *c, int m, int n, int k);
void ce_qgemm_s8_avx2(const int8_t *a, const int8_t *w, int32_t *c, int m, int n, int k);
void ce_qgemm_s8(const int8_t *a, const int8_t *w, int32_t *c, int m, int n, int k);
/// The variant ce_qgemm_s8 uses on this CPU (0 reference, 1 AVX2).
int ce_qgemm_s8_variant(void);

/// Symmetric per-row quantization: scale[r] = max|x[r,:]| / 127 (1 when the row is all zero),
/// q = round-half-to-even(x / scale) clamped to [-127, 127].
void ce_quantize_rows_s8(const float *x, int8_t *q, float *scales, int rows, int k);
/// Per-channel smoothed rows (SmoothQuant-style, formats/quantization.md): quantizes x[r, t]·smooth[t].
void ce_quantize_rows_s8_smooth(const float *x, const float *smooth, int8_t *q, float *scales, int rows, int k);
void ce_quantize_rows_s8_smooth_reference(const float *x, const float *smooth, int8_t *q, float *scales, int rows, int k);
/// The portable loop ce_quantize_rows_s8 must equal byte for byte.
void ce_quantize_rows_s8_reference(const float *x, int8_t *q, float *scales, int rows, int k);

/// IEEE binary16 -> binary32 for n values (F16C when present).
void ce_f16_to_f32(const uint16_t *src, float *dst, size_t n);

#endif

#ifndef CEKERNELS_FP32_H
#define CEKERNELS_FP32_H
/// fp32 element-wise and row kernels. Each dispatches to an AVX2+FMA variant when the CPU has it,
/// else a portable scalar loop; the Swift KernelsReference twins (double precision) define them.

/// GELU with erf in place: 0.5·x·(1 + erf(x/√2)). AVX2: erf by a rational approximation on
/// [-4, 4] (|error| < 5e-7), clamped outside.
void ce_gelu_f32(float *x, size_t n);
/// Softmax of each row of n values in place, max-subtracted. AVX2: exp by range reduction and a
/// degree-6 polynomial (about 1 ulp).
void ce_softmax_rows_f32(float *x, int rows, int n);
/// x[r] (+= add[r] when add is not NULL), then LayerNorm over n columns in place, biased variance.
void ce_layernorm_f32(float *x, const float *add, int rows, int n, const float *gamma, const float *beta, float eps);
/// y[i, j] = acc[i, j]·sx[i]·sw[j] (+ bias[j]): the int8 GEMM epilogue.
void ce_dequant_f32(const int32_t *acc, const float *sx, const float *sw, const float *bias, float *y, int m, int n);
/// The variant the fp32 kernels use on this CPU (0 portable, 1 SIMD: AVX2+FMA on x86-64, NEON on ARM64).
int ce_fp32_variant(void);
/// Forces the portable variant (1) or automatic choice (0); for tests of both paths.
void ce_force_portable(int on);
/// The variant of the packed int8 kernels (ce_qgemm_packed_f32, ce_qgemm_packed_grouped_f32) on this CPU:
/// 0 portable, 1 AVX2, 2 AVX-512 VNNI (avx512f + bw + vnni with the OS saving zmm state); on ARM64 0 portable,
/// 1 NEON (widening smlal), 2 dotprod (sdot on the inputs' high and low bytes). ce_force_portable(1) makes it 0.
int ce_qgemm_packed_variant(void);
/// Caps ce_qgemm_packed_variant at `max` (a negative value lifts the cap); for tests of every path the CPU has.
void ce_limit_packed_variant(int max);
#endif

/// Atomically adds `v` to *p and returns the previous value (work distribution across threads).
static inline long ce_atomic_fetch_add(long *p, long v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }

#ifndef CEKERNELS_ATTENTION_H
#define CEKERNELS_ATTENTION_H
/// One attention head over one sequence: out[i, :dh] = Σ_j softmax_j(scale · q_i · k_j) · v_j, rows of q, k, v
/// with stride ld, out with stride ldOut. AVX2+FMA or NEON, for dh a multiple of 8: returns 1 when it ran,
/// 0 when the caller must use its portable path (the Swift KernelsReference.attention twin defines both).
/// With AVX-512F and dh a multiple of 16, a 16-lane twin of the AVX2 kernel (eight query rows at a time).
/// scratch holds ce_attention_scratch_floats(len, dh) floats (eight rows of scores and kᵀ, rows padded to 16).
int ce_attention_head_f32(const float *q, const float *k, const float *v, int ld, float *out, int ldOut,
                          int len, int dh, float scale, float *scratch);
size_t ce_attention_scratch_floats(int len, int dh);
/// Caps the path ce_attention_head_f32 takes: 0 portable (returns 0), 1 AVX2 or NEON, 2 AVX-512 (a negative value
/// lifts the cap); for tests of every path the CPU has.
void ce_limit_attention_variant(int max);
/// Local attention, one head: out[i, :dh] = Σ_{j : |i − j| ≤ window} softmax_j(scale · q_i · k_j) · v_j (ModernBERT's
/// sliding-window layers). AVX2+FMA for dh a multiple of 8 (NEON: of 4), else portable; the Swift KernelsReference.attention
/// twin (with its window) defines both. scratch holds at least min(len, 2·window + 1) floats.
void ce_attention_window_f32(const float *q, const float *k, const float *v, int ld, float *out, int ldOut, int len, int dh,
                             float scale, int window, float *scratch);
#endif

#ifndef CEKERNELS_PACKED_H
#define CEKERNELS_PACKED_H
/// int8 GEMM on prepacked weights (AVX-512 VNNI and AVX2 fast paths; portable fallback through the reference).
/// Packed layout: panels of 16 output columns; within a panel, for each pair of input positions
/// t = 2p, 2p+1, the 16 columns' two weights (w[j][2p], w[j][2p+1]) as int8 — 32 bytes per pair, sign-
/// extended to int16 in the kernel. Columns past n and the odd tail position are zero.
/// Size in bytes: ce_qgemm_packed_size(n, k), the weights' own size rounded up to whole panels.
size_t ce_qgemm_packed_size(int n, int k);
void ce_qgemm_pack_s8(const int8_t *w, int8_t *packed, int n, int k);
/// The same for weights stored as `count` row blocks (e.g. separate q, k, v tensors of a fused linear):
/// block s holds rows[s] rows of k weights at w[s]; together they are the n = Σ rows[s] columns.
void ce_qgemm_pack_s8_blocks(const int8_t *const *w, const int *rows, int count, int8_t *packed, int k);
/// Activations as int16 rows of even length k2 = k rounded up to even (zero tail).
void ce_widen_rows_s8(const int8_t *q, int16_t *a16, int rows, int k);
/// y[i, j] = (float)(Σ_t a[i, t]·w[j, t])·sx[i]·sw[j] (+ bias[j]); the int32 sum is exact, the
/// epilogue is ce_dequant_f32's. a16 from ce_widen_rows_s8 or ce_quantize_rows_s16, packed from
/// ce_qgemm_pack_s8(_blocks), 16-byte aligned.
void ce_qgemm_packed_f32(const int16_t *a16, const int8_t *packed, int m, int n, int k,
                         const float *sx, const float *sw, const float *bias, float *y);
/// The largest |a| for int16 activation rows of length k against int8 weights (|w| ≤ 127) such that
/// no int32 sum can overflow: min(32767, floor((2³¹ − 1) / (127 · k2))), k2 = k rounded up to even.
int ce_s16_qmax(int k);
/// The same product with one weight scale per output column and group of `group` input positions (even):
/// y[i, j] = S·sx[i] (+ bias[j]), S = Σ_g (float)acc_g[i, j]·sw[j·groups + g] in group order, every product and
/// sum rounded to fp32 on its own; acc_g the exact int32 sum over positions [g·group, (g+1)·group), groups =
/// ceil(k / group), sw row-major [n, groups]. The AVX2 path equals the reference bit for bit.
void ce_qgemm_packed_grouped_f32(const int16_t *a16, const int8_t *packed, int m, int n, int k, int group,
                                 const float *sx, const float *sw, const float *bias, float *y);
void ce_qgemm_packed_grouped_f32_reference(const int16_t *a16, const int8_t *packed, int m, int n, int k, int group,
                                           const float *sx, const float *sw, const float *bias, float *y);
/// ce_s16_qmax of one group's length: the int32 sums restart at every group, so only a group's products add up.
int ce_s16_qmax_grouped(int k, int group);
/// Rows quantized straight to int16 (stride k2, zero tail): y = x[r, t]·smooth[t] (smooth may be
/// NULL), scale = max|y| / qmax (1 for an all-zero row), a = clamp(rint(y · (1/scale)), ±qmax).
void ce_quantize_rows_s16(const float *x, const float *smooth, int16_t *a16, float *scales, int rows, int k, int qmax);
/// The portable loop ce_quantize_rows_s16 must equal value for value.
void ce_quantize_rows_s16_reference(const float *x, const float *smooth, int16_t *a16, float *scales, int rows, int k, int qmax);
#endif

#ifndef CEKERNELS_U8S8_H
#define CEKERNELS_U8S8_H
/// u8 x s8 int8 GEMM for int8 activations (formats/quantization.md, "The u8 x s8 kernel").
/// Quad panels: panels of 16 output columns; within a panel, for each quad of input positions t = 4p ..< 4p + 4,
/// 64 bytes: column c's four weights w[j][4p ..< 4p + 4] at bytes 4c ..< 4c + 4. Columns past n and positions past k
/// are zero. Size in bytes: ce_qgemm_u8_packed_size(n, k) (k rounded up to a multiple of 4, n to whole panels).
size_t ce_qgemm_u8_packed_size(int n, int k);
void ce_qgemm_u8_pack_s8(const int8_t *w, int8_t *packed, int n, int k);
/// The same for weights stored as `count` row blocks (block s: rows[s] rows of k weights at w[s]).
void ce_qgemm_u8_pack_s8_blocks(const int8_t *const *w, const int *rows, int count, int8_t *packed, int k);
/// Whether the kernel takes weights with one scale per `group` input positions: group ≤ 0 (one scale per column),
/// group ≥ k (one group), or a multiple of 4 (a group is whole quads).
int ce_u8s8_supports_group(int k, int group);
/// corr[j·groups + g] = 128 · Σ_{t in group g} w[j][t] from quad panels; groups = ceil(k / group) when 0 < group < k,
/// else 1. The shift identity: Σ a·w = Σ (a + 128)·w − corr.
void ce_qgemm_u8_corrections(const int8_t *packed, int n, int k, int group, int32_t *corr);
/// Activation rows: codes a as ce_quantize_rows_s8(_smooth) (y = x·smooth when smooth is not NULL, scale = max|y| / 127
/// or 1 for an all-zero row, a = clamp(rint(y · (1/scale)), ±127)), stored as u = a + 128 with stride k rounded up
/// to a multiple of 4, the tail 128 (a = 0).
void ce_quantize_rows_u8(const float *x, const float *smooth, uint8_t *u, float *scales, int rows, int k);
/// The portable loop ce_quantize_rows_u8 must equal byte for byte.
void ce_quantize_rows_u8_reference(const float *x, const float *smooth, uint8_t *u, float *scales, int rows, int k);
/// y[i, j] from the exact int32 sums acc = Σ_t u[i, t]·w[j, t] − corr (= Σ a·w): group ≤ 0, ce_dequant_f32's epilogue
/// ((float)acc·sx[i])·sw[j] (+ bias[j]); group > 0, ce_qgemm_packed_grouped_f32's (S = Σ_g (float)acc_g·sw[j, g] in
/// group order, y = S·sx[i] (+ bias[j]), each operation rounded to fp32 on its own). So the result equals int8
/// activations widened to int16 through the packed kernels, bit for bit. group must satisfy ce_u8s8_supports_group.
/// Variants: 3 zmm vpdpbusd (AVX-512 F + BW + VNNI), 2 ymm vpdpbusd (AVX-VNNI, else AVX-512 VL + VNNI), 1 AVX2
/// (vpmaddubsw on |a| and w·sign(a): never saturates), 0 portable (the reference). ARM64: 3 smmla (i8mm), 2 sdot
/// (dotprod), 1 NEON (smull + sadalp), 0 portable; these take the codes back (a = u ^ 0x80, s8 x s8) and leave corr
/// unused, since sdot and smmla multiply s8 by s8.
void ce_qgemm_u8s8_f32(const uint8_t *u, const int8_t *packed, const int32_t *corr, int m, int n, int k, int group,
                       const float *sx, const float *sw, const float *bias, float *y);
void ce_qgemm_u8s8_f32_reference(const uint8_t *u, const int8_t *packed, const int32_t *corr, int m, int n, int k, int group,
                                 const float *sx, const float *sw, const float *bias, float *y);
/// Activation rows with one scale per row and weight group (int8 inputs "grouped", formats/quantization.md): each group
/// of `group` inputs (a multiple of 4; the last may be shorter) is quantized as its own row by ce_quantize_rows_u8's
/// rule; scales [rows, ceil(k / group)]; u as ce_quantize_rows_u8's. group ≤ 0 or ≥ k: one group, the per-row rule.
void ce_quantize_rows_u8_groups(const float *x, const float *smooth, uint8_t *u, float *scales, int rows, int k, int group);
void ce_quantize_rows_u8_groups_reference(const float *x, const float *smooth, uint8_t *u, float *scales, int rows, int k,
                                          int group);
/// ce_qgemm_u8s8_f32 with sxg activation scales per row: sxg = 1 is ce_qgemm_u8s8_f32; sxg = ceil(k / group) (grouped
/// weights only, 0 < group < k) takes sx [m, sxg] and folds each group as S = S + (float)acc_g·(sw[j, g]·sx[i, g]),
/// y = S (+ bias[j]), each operation rounded to fp32 on its own. Every variant equals the reference bit for bit.
void ce_qgemm_u8s8_gx_f32(const uint8_t *u, const int8_t *packed, const int32_t *corr, int m, int n, int k, int group,
                          const float *sx, int sxg, const float *sw, const float *bias, float *y);
void ce_qgemm_u8s8_gx_f32_reference(const uint8_t *u, const int8_t *packed, const int32_t *corr, int m, int n, int k,
                                    int group, const float *sx, int sxg, const float *sw, const float *bias, float *y);
/// The variant ce_qgemm_u8s8_f32 uses on this CPU (see above); ce_force_portable(1) makes it 0.
int ce_qgemm_u8s8_variant(void);
/// Caps ce_qgemm_u8s8_variant at the best variant ≤ max the CPU has (a negative value lifts the cap); for tests.
void ce_limit_u8s8_variant(int max);
/// Which encoding variant 2 runs: 1 VEX (AVX-VNNI), 2 EVEX (AVX-512 VL + VNNI); 0 on ARM64.
int ce_qgemm_u8s8_ymm_encoding(void);
#endif

#ifndef CEKERNELS_DOT_S8_H
#define CEKERNELS_DOT_S8_H
/// int32 dot products of nq int8 query rows with n int8 rows, d codes each (rows contiguous, stride d):
/// out[qi · n + r] = Σ_t q[qi · d + t] · rows[r · d + t], exact for d ≤ 65,536 (the embedding index's stage 1).
/// AVX-512 VNNI (vpdpbusd on the queries shifted to u8, the rows' sums taken back) or AVX2 (int16 vpmaddwd), else the
/// reference; every path equals the reference bit for bit.
void ce_dot_s8_rows(const int8_t *q, int nq, const int8_t *rows, long n, int d, int32_t *out);
void ce_dot_s8_rows_reference(const int8_t *q, int nq, const int8_t *rows, long n, int d, int32_t *out);
/// 0 reference, 1 AVX2, 2 AVX-512 VNNI: the path ce_dot_s8_rows takes on this CPU, under the cap.
int ce_dot_s8_variant(void);
/// Caps ce_dot_s8_variant at `max` (negative: no cap); for tests of every path the CPU has.
void ce_limit_dot_s8_variant(int max);
#endif
