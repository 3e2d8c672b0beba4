#include "cekernels.h"
#include "epilogue_avx2.h"
#include "neon_common.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static inline int even(int k) { return (k + 1) & ~1; }

/* A panel's `cols` (≤ width) values of v from column j into dst, zero past them; NULL when v is NULL (no bias). */
static inline const float *panel_values(float *dst, int width, const float *v, int j, int cols) {
    if (!v) return NULL;
    memset(dst, 0, (size_t)width * sizeof(float));
    memcpy(dst, v + j, (size_t)cols * sizeof(float));
    return dst;
}

size_t ce_qgemm_packed_size(int n, int k) { return (size_t)((n + 15) / 16) * (size_t)even(k) * 16; }

void ce_qgemm_pack_s8_blocks(const int8_t *const *w, const int *rows, int count, int8_t *packed, int k) {
    int k2 = even(k), n = 0;
    for (int s = 0; s < count; s++) n += rows[s];
    memset(packed, 0, ce_qgemm_packed_size(n, k));
    int j = 0;
    for (int s = 0; s < count; s++)
        for (int r = 0; r < rows[s]; r++, j++) {
            const int8_t *row = w[s] + (size_t)r * k;
            int8_t *dst = packed + (size_t)(j / 16) * k2 * 16 + 2 * (j % 16);
            /* position t goes to pair t/2, slot 2c + t%2 */
            for (int t = 0; t + 1 < k; t += 2) { dst[(size_t)t * 16] = row[t]; dst[(size_t)t * 16 + 1] = row[t + 1]; }
            if (k & 1) dst[(size_t)(k - 1) * 16] = row[k - 1];
        }
}

void ce_qgemm_pack_s8(const int8_t *w, int8_t *packed, int n, int k) { ce_qgemm_pack_s8_blocks(&w, &n, 1, packed, k); }

void ce_widen_rows_s8(const int8_t *q, int16_t *a16, int rows, int k) {
    int k2 = even(k);
    for (int r = 0; r < rows; r++) {
        for (int t = 0; t < k; t++) a16[(size_t)r * k2 + t] = q[(size_t)r * k + t];
        if (k2 > k) a16[(size_t)r * k2 + k] = 0;
    }
}

/* Portable path: unpack into the exact int32 sums, then the shared epilogue. */
static void packed_portable(const int16_t *a16, const int8_t *packed, int m, int n, int k,
                            const float *sx, const float *sw, const float *bias, float *y) {
    int k2 = even(k);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            const int8_t *panel = packed + (size_t)(j / 16) * k2 * 16;
            int c = j % 16;
            int32_t acc = 0;
            for (int t2 = 0; t2 < k2 / 2; t2++)
                acc += (int32_t)a16[(size_t)i * k2 + 2 * t2] * panel[(size_t)t2 * 32 + 2 * c]
                     + (int32_t)a16[(size_t)i * k2 + 2 * t2 + 1] * panel[(size_t)t2 * 32 + 2 * c + 1];
            ce_dequant_f32(&acc, sx + i, sw + j, bias ? bias + j : NULL, y + (size_t)i * n + j, 1, 1);
        }
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma")))

/* The int32 sums acc[MR][2] of input pairs t0 ..< t1, restarted from zero: per pair, the 32 packed weights
 * widened to int16 (two vpmovsxbw), one broadcast of each row's two int16 and two vpmaddwd. */
#define MADD_PAIRS(MR, t0, t1)                                                                            \
    for (int r = 0; r < MR; r++) { acc[r][0] = _mm256_setzero_si256(); acc[r][1] = _mm256_setzero_si256(); } \
    for (int t2 = (t0); t2 < (t1); t2++) {                                                               \
        __m256i w0 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(panel + (size_t)t2 * 32)));      \
        __m256i w1 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(panel + (size_t)t2 * 32 + 16))); \
        for (int r = 0; r < MR; r++) {                                                                   \
            int32_t pair;                                                                                \
            memcpy(&pair, a16 + (size_t)r * k2 + 2 * t2, 4);                                             \
            __m256i a = _mm256_set1_epi32(pair);                                                         \
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(a, w0));                           \
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(a, w1));                           \
        }                                                                                                \
    }

/* MR rows x 16 columns over the whole of k. */
#define KERNEL(MR)                                                                                        \
AVX2 static void tile_##MR(const int16_t *a16, int k2, const int8_t *panel, const float *sx, const float *sw, \
                           const float *bias, float *y, int n, int cols) {                                \
    __m256i acc[MR][2];                                                                                  \
    MADD_PAIRS(MR, 0, k2 / 2)                                                                            \
    for (int r = 0; r < MR; r++) ce_avx2_dequant16(acc[r][0], acc[r][1], sx[r], sw, bias, y + (size_t)r * n, cols); \
}
KERNEL(6)
KERNEL(4)
KERNEL(2)
KERNEL(1)

AVX2 static void packed_avx2(const int16_t *a16, const int8_t *packed, int m, int n, int k,
                             const float *sx, const float *sw, const float *bias, float *y) {
    int k2 = even(k), panels = (n + 15) / 16;
    /* Rows in blocks of 96 so one block of activations stays in L1/L2 while every panel streams by. */
    for (int i0 = 0; i0 < m; i0 += 96) {
        int i1 = i0 + 96 < m ? i0 + 96 : m;
        for (int p = 0; p < panels; p++) {
            const int8_t *panel = packed + (size_t)p * k2 * 16;
            int j = p * 16, cols = n - j < 16 ? n - j : 16;
            float swp[16], bp[16];
            panel_values(swp, 16, sw, j, cols);
            const float *b = panel_values(bp, 16, bias, j, cols);
            int i = i0;
            for (; i + 6 <= i1; i += 6) tile_6(a16 + (size_t)i * k2, k2, panel, sx + i, swp, b, y + (size_t)i * n + j, n, cols);
            for (; i + 4 <= i1; i += 4) tile_4(a16 + (size_t)i * k2, k2, panel, sx + i, swp, b, y + (size_t)i * n + j, n, cols);
            for (; i + 2 <= i1; i += 2) tile_2(a16 + (size_t)i * k2, k2, panel, sx + i, swp, b, y + (size_t)i * n + j, n, cols);
            for (; i < i1; i++) tile_1(a16 + (size_t)i * k2, k2, panel, sx + i, swp, b, y + (size_t)i * n + j, n, cols);
        }
    }
}
#endif

#if defined(__x86_64__)
/* ---- AVX-512 VNNI (formats/quantization.md, "Packed int8 kernel") ----
 * One panel pair t2 is 32 int8 = the 16 columns' two weights; vpmovsxbw makes them one zmm of 32 int16, and
 * one vpdpwssd per row adds a16[2·t2]·w[j][2·t2] + a16[2·t2+1]·w[j][2·t2+1] to the row's 16 int32 sums: the
 * same exact sums as the AVX2 path's vpmaddwd + vpaddd. NP panels (1 or 2) of 16 columns at a time. */
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

#define VNNI_PAIRS(MR, NP, t0, t1)                                                                         \
    for (int r = 0; r < MR; r++) for (int q = 0; q < NP; q++) acc[r][q] = _mm512_setzero_si512();         \
    for (int t2 = (t0); t2 < (t1); t2++) {                                                                \
        __m512i w[NP];                                                                                    \
        for (int q = 0; q < NP; q++)                                                                      \
            w[q] = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(panel + (size_t)q * pstride + (size_t)t2 * 32))); \
        for (int r = 0; r < MR; r++) {                                                                    \
            int32_t pair;                                                                                 \
            memcpy(&pair, a16 + (size_t)r * k2 + 2 * t2, 4);                                              \
            __m512i a = _mm512_set1_epi32(pair);                                                          \
            for (int q = 0; q < NP; q++) acc[r][q] = _mm512_dpwssd_epi32(acc[r][q], a, w[q]);             \
        }                                                                                                 \
    }

/* The first `cols` of 16 lanes (all when cols ≥ 16). */
VNNI static inline __mmask16 vmask(int cols) { return cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1); }

/* One row's 16 results: v (+ the 16 biases bq when bias), masked to the panel's columns. */
VNNI static inline void vstore(float *y, __m512 v, const float *bias, __m512 bq, __mmask16 mask) {
    if (bias) v = _mm512_add_ps(v, bq);
    _mm512_mask_storeu_ps(y, mask, v);
}

/* MR rows x NP·16 columns over the whole of k; the epilogue is ce_avx2_dequant16's ((float)acc·sx)·sw (+ bias). */
#define VKERNEL(MR, NP)                                                                                    \
VNNI static void vtile_##MR##_##NP(const int16_t *a16, int k2, const int8_t *panel, size_t pstride, const float *sx, \
                                  const float *sw, const float *bias, float *y, int n, int cols) {         \
    __m512i acc[MR][NP];                                                                                  \
    VNNI_PAIRS(MR, NP, 0, k2 / 2)                                                                         \
    for (int q = 0; q < NP; q++) {                                                                        \
        __mmask16 mask = vmask(cols - 16 * q);                                                            \
        __m512 swq = _mm512_loadu_ps(sw + 16 * q), bq = bias ? _mm512_loadu_ps(bias + 16 * q) : _mm512_setzero_ps(); \
        for (int r = 0; r < MR; r++)                                                                      \
            vstore(y + (size_t)r * n + 16 * q,                                                            \
                   _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][q]), _mm512_set1_ps(sx[r])), swq), bias, bq, mask); \
    }                                                                                                     \
}
VKERNEL(8, 2)
VKERNEL(4, 2)
VKERNEL(2, 2)
VKERNEL(1, 2)
VKERNEL(8, 1)
VKERNEL(4, 1)
VKERNEL(2, 1)
VKERNEL(1, 1)

#define VROWS(NP)                                                                                          \
    for (; i + 8 <= i1; i += 8) vtile_8_##NP(a16 + (size_t)i * k2, k2, panel, pstride, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
    for (; i + 4 <= i1; i += 4) vtile_4_##NP(a16 + (size_t)i * k2, k2, panel, pstride, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
    for (; i + 2 <= i1; i += 2) vtile_2_##NP(a16 + (size_t)i * k2, k2, panel, pstride, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
    for (; i < i1; i++) vtile_1_##NP(a16 + (size_t)i * k2, k2, panel, pstride, sx + i, swp, b, y + (size_t)i * n + j, n, cols);

VNNI static void packed_vnni(const int16_t *a16, const int8_t *packed, int m, int n, int k,
                             const float *sx, const float *sw, const float *bias, float *y) {
    int k2 = even(k), panels = (n + 15) / 16;
    size_t pstride = (size_t)k2 * 16;
    for (int i0 = 0; i0 < m; i0 += 96) {
        int i1 = i0 + 96 < m ? i0 + 96 : m;
        for (int p = 0; p < panels; p += 2) {
            const int8_t *panel = packed + (size_t)p * pstride;
            int j = p * 16, cols = n - j < 32 ? n - j : 32;
            float swp[32], bp[32];
            panel_values(swp, 32, sw, j, cols);
            const float *b = panel_values(bp, 32, bias, j, cols);
            int i = i0;
            if (p + 1 < panels) { VROWS(2) } else { VROWS(1) }
        }
    }
}
#endif

#if defined(__aarch64__)
static int packed_arm64(const int16_t *a16, const int8_t *packed, int m, int n, int k, int group,
                        const float *sx, const float *sw, const float *bias, float *y);
#endif

void ce_qgemm_packed_f32(const int16_t *a16, const int8_t *packed, int m, int n, int k,
                         const float *sx, const float *sw, const float *bias, float *y) {
#if defined(__x86_64__)
    int v = ce_qgemm_packed_variant();
    if (v == 2) { packed_vnni(a16, packed, m, n, k, sx, sw, bias, y); return; }
    if (v == 1) { packed_avx2(a16, packed, m, n, k, sx, sw, bias, y); return; }
#elif defined(__aarch64__)
    if (ce_qgemm_packed_variant() >= 1 && packed_arm64(a16, packed, m, n, k, 0, sx, sw, bias, y)) return;
#endif
    packed_portable(a16, packed, m, n, k, sx, sw, bias, y);
}

int ce_s16_qmax(int k) {
    long k2 = even(k < 1 ? 1 : k);
    long q = 2147483647L / (127L * k2);
    return (int)(q > 32767 ? 32767 : q);
}

void ce_quantize_rows_s16_reference(const float *x, const float *smooth, int16_t *a16, float *scales, int rows, int k, int qmax) {
    int k2 = even(k);
    for (int r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * k;
        int16_t *o = a16 + (size_t)r * k2;
        float mx = 0;
        for (int t = 0; t < k; t++) { float v = fabsf(smooth ? p[t] * smooth[t] : p[t]); if (v > mx) mx = v; }
        float scale = mx > 0 ? mx / (float)qmax : 1.0f, inv = 1.0f / scale;
        for (int t = 0; t < k; t++) {
            float v = rintf((smooth ? p[t] * smooth[t] : p[t]) * inv); /* round half to even */
            if (v > qmax) v = (float)qmax;
            if (v < -qmax) v = (float)-qmax;
            o[t] = (int16_t)v;
        }
        if (k2 > k) o[k] = 0;
        scales[r] = scale;
    }
}

#if defined(__x86_64__)
/* The same values as the reference: the same products, max, inverse, round-half-even and clamp. */
AVX2 static void quantize_rows_s16_avx2(const float *x, const float *smooth, int16_t *a16, float *scales, int rows, int k, int qmax) {
    const __m256 hi = _mm256_set1_ps((float)qmax), lo = _mm256_set1_ps((float)-qmax);
    int k2 = even(k);
    for (int r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * k;
        int16_t *o = a16 + (size_t)r * k2;
        int t = 0;
        float mx = ce_avx2_absmax(p, smooth, k);
        float scale = mx > 0 ? mx / (float)qmax : 1.0f, inv = 1.0f / scale;
        const __m256 vi = _mm256_set1_ps(inv);
        for (t = 0; t + 16 <= k; t += 16) {
            _mm256_storeu_si256((__m256i *)(o + t), ce_avx2_codes16(p + t, smooth ? smooth + t : NULL, vi, lo, hi));
        }
        for (; t < k; t++) {
            float v = rintf((smooth ? p[t] * smooth[t] : p[t]) * inv);
            if (v > qmax) v = (float)qmax;
            if (v < -qmax) v = (float)-qmax;
            o[t] = (int16_t)v;
        }
        if (k2 > k) o[k] = 0;
        scales[r] = scale;
    }
}
#endif

#if defined(__aarch64__)
/* The same values as the reference on NEON: the same products, max, inverse, round-half-even and clamp. */
static void quantize_rows_s16_neon(const float *x, const float *smooth, int16_t *a16, float *scales, int rows, int k, int qmax) {
    int k2 = even(k);
    const float32x4_t q = vdupq_n_f32((float)qmax);
    for (int r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * k;
        int16_t *o = a16 + (size_t)r * k2;
        float mx = ce_neon_absmax(p, smooth, k);
        float scale = mx > 0 ? mx / (float)qmax : 1.0f, inv = 1.0f / scale;
        const float32x4_t vi = vdupq_n_f32(inv);
        int t = 0;
        for (; t + 8 <= k; t += 8) {
            int32x4_t a = ce_neon_codes4(p + t, smooth ? smooth + t : NULL, vi, q);
            int32x4_t b = ce_neon_codes4(p + t + 4, smooth ? smooth + t + 4 : NULL, vi, q);
            vst1q_s16(o + t, vcombine_s16(vmovn_s32(a), vmovn_s32(b)));
        }
        for (; t < k; t++) {
            float v = rintf((smooth ? p[t] * smooth[t] : p[t]) * inv);
            if (v > qmax) v = (float)qmax;
            if (v < -qmax) v = (float)-qmax;
            o[t] = (int16_t)v;
        }
        if (k2 > k) o[k] = 0;
        scales[r] = scale;
    }
}
#endif

void ce_quantize_rows_s16(const float *x, const float *smooth, int16_t *a16, float *scales, int rows, int k, int qmax) {
#if defined(__x86_64__)
    if (ce_fp32_variant() == 1) { quantize_rows_s16_avx2(x, smooth, a16, scales, rows, k, qmax); return; }
#elif defined(__aarch64__)
    if (ce_fp32_variant() == 1) { quantize_rows_s16_neon(x, smooth, a16, scales, rows, k, qmax); return; }
#endif
    ce_quantize_rows_s16_reference(x, smooth, a16, scales, rows, k, qmax);
}

/* ---- Per-group weight scales (formats/quantization.md, "int8 weight groups") ----
 * y[i, j] = S·sx[i] (+ bias[j]) with S = Σ_g (float)acc_g·sw[j, g], summed in group order from 0, each
 * product and each sum rounded to fp32 on its own (no fused multiply-add), and acc_g the exact int32 sum
 * over input positions [g·group, (g+1)·group). group is even, so a group is group/2 whole input pairs. */

static inline int groups_of(int k, int group) { return (k + group - 1) / group; }

/* Portable path, and the definition of the result. */
static void grouped_portable(const int16_t *a16, const int8_t *packed, int m, int n, int k, int group,
                             const float *sx, const float *sw, const float *bias, float *y) {
    int k2 = even(k), groups = groups_of(k, group), gp = group / 2;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            const int8_t *panel = packed + (size_t)(j / 16) * k2 * 16;
            const int16_t *a = a16 + (size_t)i * k2;
            int c = j % 16;
            float s = 0;
            for (int g = 0; g < groups; g++) {
                int32_t acc = 0;
                int t1 = (g + 1) * gp < k2 / 2 ? (g + 1) * gp : k2 / 2;
                for (int t2 = g * gp; t2 < t1; t2++)
                    acc += (int32_t)a[2 * t2] * panel[(size_t)t2 * 32 + 2 * c] + (int32_t)a[2 * t2 + 1] * panel[(size_t)t2 * 32 + 2 * c + 1];
                float p = (float)acc * sw[(size_t)j * groups + g];
                s = s + p;
            }
            float v = s * sx[i];
            if (bias) v = v + bias[j];
            y[(size_t)i * n + j] = v;
        }
}

#if defined(__x86_64__)
/* MR rows x 16 columns, the int32 sums restarted per group and folded into fp32 sums with the group's
 * 16 column scales (swp: [groups][16]). */
#define GKERNEL(MR)                                                                                        \
AVX2 static void gtile_##MR(const int16_t *a16, int k2, const int8_t *panel, int gp, int groups,          \
                            const float *swp, const float *sx, const float *bias, float *y, int n, int cols) { \
    __m256 s[MR][2];                                                                                     \
    for (int r = 0; r < MR; r++) { s[r][0] = _mm256_setzero_ps(); s[r][1] = _mm256_setzero_ps(); }      \
    for (int g = 0; g < groups; g++) {                                                                   \
        __m256i acc[MR][2];                                                                              \
        int t1 = (g + 1) * gp < k2 / 2 ? (g + 1) * gp : k2 / 2;                                          \
        MADD_PAIRS(MR, g * gp, t1)                                                                       \
        __m256 g0 = _mm256_loadu_ps(swp + (size_t)g * 16), g1 = _mm256_loadu_ps(swp + (size_t)g * 16 + 8); \
        for (int r = 0; r < MR; r++) {                                                                   \
            s[r][0] = _mm256_add_ps(s[r][0], _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][0]), g0));          \
            s[r][1] = _mm256_add_ps(s[r][1], _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][1]), g1));          \
        }                                                                                                \
    }                                                                                                    \
    for (int r = 0; r < MR; r++) ce_avx2_scale16(s[r][0], s[r][1], sx[r], bias, y + (size_t)r * n, cols);  \
}
GKERNEL(6)
GKERNEL(4)
GKERNEL(2)
GKERNEL(1)

AVX2 static int grouped_avx2(const int16_t *a16, const int8_t *packed, int m, int n, int k, int group,
                             const float *sx, const float *sw, const float *bias, float *y) {
    int k2 = even(k), panels = (n + 15) / 16, groups = groups_of(k, group), gp = group / 2;
    float *swp = malloc((size_t)groups * 16 * sizeof(float));
    if (!swp) return 0;
    /* Rows in blocks of 96, as packed_avx2. */
    for (int i0 = 0; i0 < m; i0 += 96) {
        int i1 = i0 + 96 < m ? i0 + 96 : m;
        for (int p = 0; p < panels; p++) {
            const int8_t *panel = packed + (size_t)p * k2 * 16;
            int j = p * 16, cols = n - j < 16 ? n - j : 16;
            /* This panel's scales as [groups][16], zero past the last column. */
            for (int g = 0; g < groups; g++)
                for (int c = 0; c < 16; c++) swp[g * 16 + c] = c < cols ? sw[(size_t)(j + c) * groups + g] : 0;
            float bp[16];
            const float *b = panel_values(bp, 16, bias, j, cols);
            int i = i0;
            for (; i + 6 <= i1; i += 6) gtile_6(a16 + (size_t)i * k2, k2, panel, gp, groups, swp, sx + i, b, y + (size_t)i * n + j, n, cols);
            for (; i + 4 <= i1; i += 4) gtile_4(a16 + (size_t)i * k2, k2, panel, gp, groups, swp, sx + i, b, y + (size_t)i * n + j, n, cols);
            for (; i + 2 <= i1; i += 2) gtile_2(a16 + (size_t)i * k2, k2, panel, gp, groups, swp, sx + i, b, y + (size_t)i * n + j, n, cols);
            for (; i < i1; i++) gtile_1(a16 + (size_t)i * k2, k2, panel, gp, groups, swp, sx + i, b, y + (size_t)i * n + j, n, cols);
        }
    }
    free(swp);
    return 1;
}
#endif

#if defined(__x86_64__)
/* MR rows x NP·16 columns of the grouped product on AVX-512 VNNI: the int32 sums restart per group and fold
 * into fp32 sums with the group's column scales (swp: [groups][NP·16]), as gtile does. */
#define GVKERNEL(MR, NP)                                                                                   \
VNNI static void gvtile_##MR##_##NP(const int16_t *a16, int k2, const int8_t *panel, size_t pstride, int gp, int groups, \
                                   const float *swp, const float *sx, const float *bias, float *y, int n, int cols) { \
    __m512 s[MR][NP];                                                                                     \
    for (int r = 0; r < MR; r++) for (int q = 0; q < NP; q++) s[r][q] = _mm512_setzero_ps();             \
    for (int g = 0; g < groups; g++) {                                                                    \
        __m512i acc[MR][NP];                                                                              \
        int t1 = (g + 1) * gp < k2 / 2 ? (g + 1) * gp : k2 / 2;                                           \
        VNNI_PAIRS(MR, NP, g * gp, t1)                                                                    \
        for (int q = 0; q < NP; q++) {                                                                    \
            __m512 sc = _mm512_loadu_ps(swp + (size_t)g * NP * 16 + 16 * q);                              \
            for (int r = 0; r < MR; r++) s[r][q] = _mm512_add_ps(s[r][q], _mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][q]), sc)); \
        }                                                                                                 \
    }                                                                                                     \
    for (int q = 0; q < NP; q++) {                                                                        \
        __mmask16 mask = vmask(cols - 16 * q);                                                            \
        __m512 bq = bias ? _mm512_loadu_ps(bias + 16 * q) : _mm512_setzero_ps();                          \
        for (int r = 0; r < MR; r++)                                                                      \
            vstore(y + (size_t)r * n + 16 * q, _mm512_mul_ps(s[r][q], _mm512_set1_ps(sx[r])), bias, bq, mask); \
    }                                                                                                     \
}
GVKERNEL(6, 2)
GVKERNEL(4, 2)
GVKERNEL(2, 2)
GVKERNEL(1, 2)
GVKERNEL(6, 1)
GVKERNEL(4, 1)
GVKERNEL(2, 1)
GVKERNEL(1, 1)

#define GVROWS(NP)                                                                                         \
    for (; i + 6 <= i1; i += 6) gvtile_6_##NP(a16 + (size_t)i * k2, k2, panel, pstride, gp, groups, swp, sx + i, b, y + (size_t)i * n + j, n, cols); \
    for (; i + 4 <= i1; i += 4) gvtile_4_##NP(a16 + (size_t)i * k2, k2, panel, pstride, gp, groups, swp, sx + i, b, y + (size_t)i * n + j, n, cols); \
    for (; i + 2 <= i1; i += 2) gvtile_2_##NP(a16 + (size_t)i * k2, k2, panel, pstride, gp, groups, swp, sx + i, b, y + (size_t)i * n + j, n, cols); \
    for (; i < i1; i++) gvtile_1_##NP(a16 + (size_t)i * k2, k2, panel, pstride, gp, groups, swp, sx + i, b, y + (size_t)i * n + j, n, cols);

VNNI static int grouped_vnni(const int16_t *a16, const int8_t *packed, int m, int n, int k, int group,
                             const float *sx, const float *sw, const float *bias, float *y) {
    int k2 = even(k), panels = (n + 15) / 16, groups = groups_of(k, group), gp = group / 2;
    size_t pstride = (size_t)k2 * 16;
    float *swp = malloc((size_t)groups * 32 * sizeof(float));
    if (!swp) return 0;
    for (int i0 = 0; i0 < m; i0 += 96) {
        int i1 = i0 + 96 < m ? i0 + 96 : m;
        for (int p = 0; p < panels; p += 2) {
            const int8_t *panel = packed + (size_t)p * pstride;
            int np = p + 1 < panels ? 2 : 1, j = p * 16, cols = n - j < 16 * np ? n - j : 16 * np;
            /* These panels' scales as [groups][np·16], zero past the last column. */
            for (int g = 0; g < groups; g++)
                for (int c = 0; c < 16 * np; c++) swp[g * 16 * np + c] = c < cols ? sw[(size_t)(j + c) * groups + g] : 0;
            float bp[32];
            const float *b = panel_values(bp, 32, bias, j, cols);
            int i = i0;
            if (np == 2) { GVROWS(2) } else { GVROWS(1) }
        }
    }
    free(swp);
    return 1;
}
#endif

#if defined(__aarch64__)
/* ---- ARM64: int8 weights x int16 inputs on pair panels ----
 * Each engine sets acc[r][q] (columns 4q ..< 4q + 4 of row r) to the exact int32 sums Σ a·w over pairs t0 ..< t1, for
 * MR ≤ 4 rows; c16 (16 values, or NULL) is the level's starting value per column. Level 1, NEON: vld2q_s8 splits a
 * pair into the 16 columns' weights at 2·t2 and 2·t2 + 1, widened to int16, and smlal by scalar adds a16[2·t2]·w and
 * a16[2·t2 + 1]·w. Level 2, dotprod: a = 256·h + l with h = a >> 8 (s8) and l = a & 0xFF (u8); sdot multiplies
 * s8 by s8, so l goes in as l − 128 and c16 = 128·Σ w puts the shift back: Σ a·w = 256·Σ h·w + Σ (l − 128)·w + c16,
 * two sdot per four positions and 4 columns; zip1/zip2 on 16-bit lanes of pairs 2p, 2p + 1 make the columns' quads.
 * The int32 arithmetic wraps, and the true sum fits (ce_s16_qmax), so the result is exact. */
CE_NEON_INLINE void pairs_smlal(const int MR, const int16_t *a16, int k2, const int8_t *panel, int t0, int t1,
                                const int32_t *c16, int32x4_t acc[4][4]) {
    (void)c16;
    for (int r = 0; r < MR; r++) for (int q = 0; q < 4; q++) acc[r][q] = vdupq_n_s32(0);
    for (int t2 = t0; t2 < t1; t2++) {
        int8x16x2_t w = vld2q_s8(panel + (size_t)t2 * 32);
        int16x8_t e0 = vmovl_s8(vget_low_s8(w.val[0])), e1 = vmovl_high_s8(w.val[0]);
        int16x8_t o0 = vmovl_s8(vget_low_s8(w.val[1])), o1 = vmovl_high_s8(w.val[1]);
        for (int r = 0; r < MR; r++) {
            int16_t x0 = a16[(size_t)r * k2 + 2 * t2], x1 = a16[(size_t)r * k2 + 2 * t2 + 1];
            acc[r][0] = vmlal_n_s16(vmlal_n_s16(acc[r][0], vget_low_s16(e0), x0), vget_low_s16(o0), x1);
            acc[r][1] = vmlal_high_n_s16(vmlal_high_n_s16(acc[r][1], e0, x0), o0, x1);
            acc[r][2] = vmlal_n_s16(vmlal_n_s16(acc[r][2], vget_low_s16(e1), x0), vget_low_s16(o1), x1);
            acc[r][3] = vmlal_high_n_s16(vmlal_high_n_s16(acc[r][3], e1, x0), o1, x1);
        }
    }
}

/* The four columns' quads of pairs t and t + 1 (zero weights for t + 1 when !two). */
CE_NEON_DOTPROD CE_NEON_INLINE void pair_quads(const int8_t *panel, int t, int two, int8x16_t w[4]) {
    int16x8_t p0a = vreinterpretq_s16_s8(vld1q_s8(panel + (size_t)t * 32)), p0b = vreinterpretq_s16_s8(vld1q_s8(panel + (size_t)t * 32 + 16));
    int16x8_t p1a = vdupq_n_s16(0), p1b = p1a;
    if (two) { p1a = vreinterpretq_s16_s8(vld1q_s8(panel + (size_t)t * 32 + 32)); p1b = vreinterpretq_s16_s8(vld1q_s8(panel + (size_t)t * 32 + 48)); }
    w[0] = vreinterpretq_s8_s16(vzip1q_s16(p0a, p1a));
    w[1] = vreinterpretq_s8_s16(vzip2q_s16(p0a, p1a));
    w[2] = vreinterpretq_s8_s16(vzip1q_s16(p0b, p1b));
    w[3] = vreinterpretq_s8_s16(vzip2q_s16(p0b, p1b));
}

#define PAIRS_SDOT_LANE(L)                                                                                 \
    pair_quads(panel, t + 2 * L, 1, w);                                                                   \
    for (int r = 0; r < MR; r++)                                                                          \
        for (int q = 0; q < 4; q++) {                                                                     \
            hs[r][q] = vdotq_laneq_s32(hs[r][q], w[q], h[r], L);                                          \
            ls[r][q] = vdotq_laneq_s32(ls[r][q], w[q], l[r], L);                                          \
        }
CE_NEON_DOTPROD CE_NEON_INLINE void pairs_sdot(const int MR, const int16_t *a16, int k2, const int8_t *panel, int t0, int t1,
                                       const int32_t *c16, int32x4_t acc[4][4]) {
    int32x4_t hs[2][4], ls[2][4];
    int8x16_t w[4], h[2], l[2];
    for (int r = 0; r < MR; r++) for (int q = 0; q < 4; q++) { hs[r][q] = vdupq_n_s32(0); ls[r][q] = vld1q_s32(c16 + 4 * q); }
    int t = t0;
    for (; t + 8 <= t1; t += 8) { /* 16 positions: bytes of 16 int16, high bytes by uzp2, low by uzp1 */
        for (int r = 0; r < MR; r++) {
            const int8_t *b = (const int8_t *)(a16 + (size_t)r * k2 + 2 * t);
            int8x16_t b0 = vld1q_s8(b), b1 = vld1q_s8(b + 16);
            h[r] = vuzp2q_s8(b0, b1);
            l[r] = veorq_s8(vuzp1q_s8(b0, b1), vdupq_n_s8(-128));
        }
        PAIRS_SDOT_LANE(0) PAIRS_SDOT_LANE(1) PAIRS_SDOT_LANE(2) PAIRS_SDOT_LANE(3)
    }
    for (; t < t1; t += 2) { /* four positions, or a lone last pair (the other two read as 0, their weights 0) */
        int two = t + 1 < t1;
        pair_quads(panel, t, two, w);
        for (int r = 0; r < MR; r++) {
            uint64_t v = 0;
            memcpy(&v, a16 + (size_t)r * k2 + 2 * t, two ? 8 : 4);
            int8x8_t b = vcreate_s8(v), hh = vuzp2_s8(b, b), ll = veor_s8(vuzp1_s8(b, b), vdup_n_s8(-128));
            for (int q = 0; q < 4; q++) {
                hs[r][q] = vdotq_lane_s32(hs[r][q], w[q], hh, 0);
                ls[r][q] = vdotq_lane_s32(ls[r][q], w[q], ll, 0);
            }
        }
    }
    for (int r = 0; r < MR; r++) for (int q = 0; q < 4; q++) acc[r][q] = vaddq_s32(vshlq_n_s32(hs[r][q], 8), ls[r][q]);
}

/* c16[g·16 + c] = 128 · Σ w[j + c][t] over group g's pairs (all pairs when groups = 1, gp = k2 / 2). */
static void pair_sums(const int8_t *panel, int k2, int gp, int groups, int32_t *c16) {
    for (int g = 0; g < groups; g++) {
        int t1 = (g + 1) * gp < k2 / 2 ? (g + 1) * gp : k2 / 2;
        for (int c = 0; c < 16; c++) {
            int32_t s = 0;
            for (int t2 = g * gp; t2 < t1; t2++) s += panel[(size_t)t2 * 32 + 2 * c] + panel[(size_t)t2 * 32 + 2 * c + 1];
            c16[g * 16 + c] = 128 * s;
        }
    }
}

/* One level's tiles and driver (group ≤ 0: ce_neon_dequant16; else per group, ce_neon_fold16 + ce_neon_scale16, as
 * gtile does). Rows in blocks of 96, tiles of BIG, 2 and 1 rows; per panel, scales swp and (SUMS) c16 as [groups][16]. */
#define PACKED_ARM64_LEVEL(NAME, TARGET, ENGINE, BIG, SUMS)                                                \
TARGET CE_NEON_INLINE void ptile_##NAME(const int MR, const int16_t *a16, int k2, const int8_t *panel, const int32_t *c16, \
                                        const float *sx, const float *sw, const float *bias, float *y, int n, int cols) { \
    int32x4_t acc[4][4];                                                                                  \
    ENGINE(MR, a16, k2, panel, 0, k2 / 2, c16, acc);                                                      \
    for (int r = 0; r < MR; r++) ce_neon_dequant16(acc[r], sx[r], sw, bias, y + (size_t)r * n, cols);    \
}                                                                                                         \
TARGET CE_NEON_INLINE void pgtile_##NAME(const int MR, const int16_t *a16, int k2, const int8_t *panel, int gp, int groups, \
                                         const int32_t *c16, const float *swp, const float *sx, const float *bias, \
                                         float *y, int n, int cols) {                                     \
    float32x4_t s[4][4];                                                                                  \
    int32x4_t acc[4][4];                                                                                  \
    for (int r = 0; r < MR; r++) for (int q = 0; q < 4; q++) s[r][q] = vdupq_n_f32(0);                   \
    for (int g = 0; g < groups; g++) {                                                                    \
        int t1 = (g + 1) * gp < k2 / 2 ? (g + 1) * gp : k2 / 2;                                           \
        ENGINE(MR, a16, k2, panel, g * gp, t1, c16 + (size_t)g * 16, acc);                                \
        for (int r = 0; r < MR; r++) ce_neon_fold16(s[r], acc[r], swp + (size_t)g * 16);                 \
    }                                                                                                     \
    for (int r = 0; r < MR; r++) ce_neon_scale16(s[r], sx[r], bias, y + (size_t)r * n, cols);            \
}                                                                                                         \
TARGET static int packed_##NAME(const int16_t *a16, const int8_t *packed, int m, int n, int k, int group,\
                                const float *sx, const float *sw, const float *bias, float *y) {          \
    int k2 = even(k), panels = (n + 15) / 16, groups = group > 0 ? groups_of(k, group) : 1;              \
    int gp = group > 0 ? group / 2 : k2 / 2;                                                              \
    float *swp = malloc((size_t)groups * 16 * sizeof(float));                                            \
    int32_t *c16 = malloc((size_t)groups * 16 * sizeof(int32_t));                                       \
    if (!swp || !c16) { free(swp); free(c16); return 0; }                                                 \
    for (int i0 = 0; i0 < m; i0 += 96) {                                                                  \
        int i1 = i0 + 96 < m ? i0 + 96 : m;                                                               \
        for (int p = 0; p < panels; p++) {                                                                \
            const int8_t *panel = packed + (size_t)p * k2 * 16;                                           \
            int j = p * 16, cols = n - j < 16 ? n - j : 16;                                               \
            for (int g = 0; g < groups; g++)                                                              \
                for (int c = 0; c < 16; c++) swp[g * 16 + c] = c < cols ? sw[(size_t)(j + c) * groups + g] : 0; \
            if (SUMS) pair_sums(panel, k2, gp, groups, c16);                                              \
            float bp[16];                                                                                 \
            const float *b = panel_values(bp, 16, bias, j, cols);                                         \
            int i = i0;                                                                                   \
            if (group <= 0) {                                                                             \
                for (; i + BIG <= i1; i += BIG) ptile_##NAME(BIG, a16 + (size_t)i * k2, k2, panel, c16, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
                for (; i + 2 <= i1; i += 2) ptile_##NAME(2, a16 + (size_t)i * k2, k2, panel, c16, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
                for (; i < i1; i++) ptile_##NAME(1, a16 + (size_t)i * k2, k2, panel, c16, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
            } else {                                                                                      \
                for (; i + BIG <= i1; i += BIG) pgtile_##NAME(BIG, a16 + (size_t)i * k2, k2, panel, gp, groups, c16, swp, sx + i, b, y + (size_t)i * n + j, n, cols); \
                for (; i + 2 <= i1; i += 2) pgtile_##NAME(2, a16 + (size_t)i * k2, k2, panel, gp, groups, c16, swp, sx + i, b, y + (size_t)i * n + j, n, cols); \
                for (; i < i1; i++) pgtile_##NAME(1, a16 + (size_t)i * k2, k2, panel, gp, groups, c16, swp, sx + i, b, y + (size_t)i * n + j, n, cols); \
            }                                                                                             \
        }                                                                                                 \
    }                                                                                                     \
    free(swp);                                                                                            \
    free(c16);                                                                                            \
    return 1;                                                                                             \
}

PACKED_ARM64_LEVEL(smlal, , pairs_smlal, 4, 0)
PACKED_ARM64_LEVEL(sdot, CE_NEON_DOTPROD, pairs_sdot, 2, 1)

/* Level 2 (dotprod) or 1 (NEON) of ce_qgemm_packed_variant; group ≤ 0 for ce_qgemm_packed_f32's epilogue. */
static int packed_arm64(const int16_t *a16, const int8_t *packed, int m, int n, int k, int group,
                        const float *sx, const float *sw, const float *bias, float *y) {
    if (ce_qgemm_packed_variant() == 2) return packed_sdot(a16, packed, m, n, k, group, sx, sw, bias, y);
    return packed_smlal(a16, packed, m, n, k, group, sx, sw, bias, y);
}
#endif

void ce_qgemm_packed_grouped_f32_reference(const int16_t *a16, const int8_t *packed, int m, int n, int k, int group,
                                           const float *sx, const float *sw, const float *bias, float *y) {
    grouped_portable(a16, packed, m, n, k, group, sx, sw, bias, y);
}

void ce_qgemm_packed_grouped_f32(const int16_t *a16, const int8_t *packed, int m, int n, int k, int group,
                                 const float *sx, const float *sw, const float *bias, float *y) {
#if defined(__x86_64__)
    int v = ce_qgemm_packed_variant();
    if (v == 2 && grouped_vnni(a16, packed, m, n, k, group, sx, sw, bias, y)) return;
    if (v >= 1 && grouped_avx2(a16, packed, m, n, k, group, sx, sw, bias, y)) return;
#elif defined(__aarch64__)
    if (ce_qgemm_packed_variant() >= 1 && packed_arm64(a16, packed, m, n, k, group, sx, sw, bias, y)) return;
#endif
    grouped_portable(a16, packed, m, n, k, group, sx, sw, bias, y);
}

int ce_s16_qmax_grouped(int k, int group) { return ce_s16_qmax(group > 0 && group < k ? group : k); }
