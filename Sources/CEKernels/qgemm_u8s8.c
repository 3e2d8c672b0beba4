#include "cekernels.h"
#include "epilogue_avx2.h"
#include "neon_common.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* u8 x s8 int8 GEMM on quad panels (formats/quantization.md, "int8 activations: the u8 x s8 kernel").
 * Activations a in [-127, 127] (ce_quantize_rows_s8's codes) are stored shifted, u = a + 128 in [1, 255], so
 * vpdpbusd (u8 x s8, four products per int32 lane) can take them; Σ_t a·w = Σ_t u·w − corr with
 * corr = 128·Σ_t w per output column (and group), an exact int32 identity. */

static inline int quads(int k) { return (k + 3) & ~3; }
static inline int groups_of(int k, int group) { return group > 0 && group < k ? (k + group - 1) / group : 1; }
/* Quads per group: a group is group/4 whole quads; a single group covers every quad. */
static inline int group_quads(int k, int group) { return group > 0 && group < k ? group / 4 : quads(k) / 4; }

int ce_u8s8_supports_group(int k, int group) { return group <= 0 || group >= k || group % 4 == 0; }

size_t ce_qgemm_u8_packed_size(int n, int k) { return (size_t)((n + 15) / 16) * (size_t)quads(k) * 16; }

void ce_qgemm_u8_pack_s8_blocks(const int8_t *const *w, const int *rows, int count, int8_t *packed, int k) {
    int k4 = quads(k), n = 0;
    for (int s = 0; s < count; s++) n += rows[s];
    memset(packed, 0, ce_qgemm_u8_packed_size(n, k));
    int j = 0;
    for (int s = 0; s < count; s++)
        for (int r = 0; r < rows[s]; r++, j++) {
            const int8_t *row = w[s] + (size_t)r * k;
            int8_t *dst = packed + (size_t)(j / 16) * k4 * 16 + 4 * (j % 16);
            /* position t goes to quad t/4, byte 4c + t%4 of its 64 */
            for (int t = 0; t < k; t++) dst[(size_t)(t / 4) * 64 + t % 4] = row[t];
        }
}

void ce_qgemm_u8_pack_s8(const int8_t *w, int8_t *packed, int n, int k) { ce_qgemm_u8_pack_s8_blocks(&w, &n, 1, packed, k); }

void ce_qgemm_u8_corrections(const int8_t *packed, int n, int k, int group, int32_t *corr) {
    int k4 = quads(k), groups = groups_of(k, group), gq = group_quads(k, group);
    for (int j = 0; j < n; j++) {
        const int8_t *panel = packed + (size_t)(j / 16) * k4 * 16 + 4 * (j % 16);
        for (int g = 0; g < groups; g++) {
            int32_t s = 0;
            int p1 = (g + 1) * gq < k4 / 4 ? (g + 1) * gq : k4 / 4;
            for (int p = g * gq; p < p1; p++)
                for (int q = 0; q < 4; q++) s += panel[(size_t)p * 64 + q];
            corr[(size_t)j * groups + g] = 128 * s;
        }
    }
}

/* ---- activation rows ---- */

void ce_quantize_rows_u8_reference(const float *x, const float *smooth, uint8_t *u, float *scales, int rows, int k) {
    int k4 = quads(k);
    for (int r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * k;
        uint8_t *o = u + (size_t)r * k4;
        float mx = 0;
        for (int t = 0; t < k; t++) { float v = fabsf(smooth ? p[t] * smooth[t] : p[t]); if (v > mx) mx = v; }
        float scale = mx > 0 ? mx / 127.0f : 1.0f, inv = 1.0f / scale;
        for (int t = 0; t < k; t++) {
            float v = rintf((smooth ? p[t] * smooth[t] : p[t]) * inv); /* round half to even */
            if (v > 127) v = 127;
            if (v < -127) v = -127;
            o[t] = (uint8_t)((int)v + 128);
        }
        for (int t = k; t < k4; t++) o[t] = 128;
        scales[r] = scale;
    }
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma")))

/* The same codes as the reference: the same products, max, inverse, round-half-even and clamp. */
AVX2 static void quantize_rows_u8_avx2(const float *x, const float *smooth, uint8_t *u, float *scales, int rows, int k) {
    const __m256 hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    const __m128i flip = _mm_set1_epi8((char)0x80);
    int k4 = quads(k);
    for (int r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * k;
        uint8_t *o = u + (size_t)r * k4;
        int t = 0;
        float mx = ce_avx2_absmax(p, smooth, k);
        float scale = mx > 0 ? mx / 127.0f : 1.0f, inv = 1.0f / scale;
        const __m256 vi = _mm256_set1_ps(inv);
        for (t = 0; t + 16 <= k; t += 16) {
            __m256i w = ce_avx2_codes16(p + t, smooth ? smooth + t : NULL, vi, lo, hi);
            __m128i bytes = _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
            _mm_storeu_si128((__m128i *)(o + t), _mm_xor_si128(bytes, flip)); /* a + 128 as u8 */
        }
        for (; t < k; t++) {
            float v = rintf((smooth ? p[t] * smooth[t] : p[t]) * inv);
            if (v > 127) v = 127;
            if (v < -127) v = -127;
            o[t] = (uint8_t)((int)v + 128);
        }
        for (; t < k4; t++) o[t] = 128;
        scales[r] = scale;
    }
}
#endif

#if defined(__aarch64__)
/* The same codes as the reference on NEON: the same products, max, inverse, round-half-even and clamp. */
static void quantize_rows_u8_neon(const float *x, const float *smooth, uint8_t *u, float *scales, int rows, int k) {
    int k4 = quads(k);
    for (int r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * k;
        uint8_t *o = u + (size_t)r * k4;
        float mx = ce_neon_absmax(p, smooth, k);
        float scale = mx > 0 ? mx / 127.0f : 1.0f, inv = 1.0f / scale;
        int t = 0;
        for (; t + 16 <= k; t += 16) {
            int8x16_t c = ce_neon_codes16_s8(p + t, smooth ? smooth + t : NULL, vdupq_n_f32(inv));
            vst1q_u8(o + t, veorq_u8(vreinterpretq_u8_s8(c), vdupq_n_u8(0x80))); /* a + 128 as u8 */
        }
        for (; t < k; t++) {
            float v = rintf((smooth ? p[t] * smooth[t] : p[t]) * inv);
            if (v > 127) v = 127;
            if (v < -127) v = -127;
            o[t] = (uint8_t)((int)v + 128);
        }
        for (; t < k4; t++) o[t] = 128;
        scales[r] = scale;
    }
}
#endif

void ce_quantize_rows_u8(const float *x, const float *smooth, uint8_t *u, float *scales, int rows, int k) {
#if defined(__x86_64__)
    if (ce_fp32_variant() == 1) { quantize_rows_u8_avx2(x, smooth, u, scales, rows, k); return; }
#elif defined(__aarch64__)
    if (ce_fp32_variant() == 1) { quantize_rows_u8_neon(x, smooth, u, scales, rows, k); return; }
#endif
    ce_quantize_rows_u8_reference(x, smooth, u, scales, rows, k);
}

/* Per row and weight group (G a multiple of 4): each group's codes are a row of its own to the per-row rule above;
 * scales [rows, groups]. Groups are G wide except a shorter last one, whose quad padding ends the row. */
static void quantize_groups(void (*row)(const float *, const float *, uint8_t *, float *, int, int), const float *x,
                            const float *smooth, uint8_t *u, float *scales, int rows, int k, int group) {
    int k4 = quads(k), groups = groups_of(k, group), g0 = groups > 1 ? group : k;
    for (int r = 0; r < rows; r++)
        for (int g = 0; g < groups; g++) {
            int t0 = g * g0, len = k - t0 < g0 ? k - t0 : g0;
            row(x + (size_t)r * k + t0, smooth ? smooth + t0 : NULL, u + (size_t)r * k4 + t0, scales + (size_t)r * groups + g, 1, len);
        }
}

void ce_quantize_rows_u8_groups_reference(const float *x, const float *smooth, uint8_t *u, float *scales, int rows, int k,
                                          int group) {
    quantize_groups(ce_quantize_rows_u8_reference, x, smooth, u, scales, rows, k, group);
}

void ce_quantize_rows_u8_groups(const float *x, const float *smooth, uint8_t *u, float *scales, int rows, int k, int group) {
    quantize_groups(ce_quantize_rows_u8, x, smooth, u, scales, rows, k, group);
}

/* ---- the product: reference ---- */

void ce_qgemm_u8s8_f32_reference(const uint8_t *u, const int8_t *packed, const int32_t *corr, int m, int n, int k, int group,
                                 const float *sx, const float *sw, const float *bias, float *y) {
    ce_qgemm_u8s8_gx_f32_reference(u, packed, corr, m, n, k, group, sx, 1, sw, bias, y);
}

void ce_qgemm_u8s8_gx_f32_reference(const uint8_t *u, const int8_t *packed, const int32_t *corr, int m, int n, int k,
                                    int group, const float *sx, int sxg, const float *sw, const float *bias, float *y) {
    int k4 = quads(k), groups = groups_of(k, group), gq = group_quads(k, group);
    if (group <= 0 || group >= k) sxg = 1;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            const int8_t *panel = packed + (size_t)(j / 16) * k4 * 16 + 4 * (j % 16);
            const uint8_t *a = u + (size_t)i * k4;
            float v;
            if (group <= 0) {
                int32_t acc = -corr[j];
                for (int t = 0; t < k4; t++) acc += (int32_t)a[t] * panel[(size_t)(t / 4) * 64 + t % 4];
                v = (float)acc * sx[i];
                v = v * sw[j];
            } else {
                float s = 0;
                for (int g = 0; g < groups; g++) {
                    int32_t acc = -corr[(size_t)j * groups + g];
                    int p1 = (g + 1) * gq < k4 / 4 ? (g + 1) * gq : k4 / 4;
                    for (int t = 4 * g * gq; t < 4 * p1; t++) acc += (int32_t)a[t] * panel[(size_t)(t / 4) * 64 + t % 4];
                    float sc = sw[(size_t)j * groups + g];
                    if (sxg > 1) sc = sc * sx[(size_t)i * sxg + g];
                    float p = (float)acc * sc;
                    s = s + p;
                }
                v = sxg > 1 ? s : s * sx[i];
            }
            y[(size_t)i * n + j] = bias ? v + bias[j] : v;
        }
}

#if defined(__x86_64__)
/* ---- AVX2 (vpmaddubsw), no VNNI ----
 * vpmaddubsw multiplies u8 by s8 and adds pairs into int16 with saturation: u·w pairs up to 2·255·127 would
 * saturate. So this path takes the codes back (a = u ^ 0x80) and multiplies |a| (≤ 127, unsigned) by w·sign(a)
 * (vpsignb, |·| ≤ 127): a pair sums to at most 2·127·127 = 32258 < 32767, never saturating. vpmaddwd with ones
 * then adds pairs into the int32 lane of each column's quad: Σ a·w exactly, which is Σ u·w − corr. */
/* acc[MR][2] += Σ over quads p0 ..< p1 of a·w for MR rows × the panel's 16 columns (two ymm of 8 columns × 4). */
#define MADDUBS_QUADS(MR, p0, p1)                                                                          \
    for (int p = (p0); p < (p1); p++) {                                                                   \
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(panel + (size_t)p * 64));                       \
        __m256i w1 = _mm256_loadu_si256((const __m256i *)(panel + (size_t)p * 64 + 32));                  \
        for (int r = 0; r < MR; r++) {                                                                    \
            int32_t q4;                                                                                   \
            memcpy(&q4, u + (size_t)r * k4 + 4 * p, 4);                                                   \
            __m256i a = _mm256_xor_si256(_mm256_set1_epi32(q4), flip);                                    \
            __m256i x = _mm256_abs_epi8(a);                                                               \
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(x, _mm256_sign_epi8(w0, a)), ones)); \
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(x, _mm256_sign_epi8(w1, a)), ones)); \
        }                                                                                                 \
    }

#define U8_AVX2_TILE(MR)                                                                                   \
AVX2 static void u8tile_avx2_##MR(const uint8_t *u, int k4, const int8_t *panel, const float *sx, const float *sw, \
                                  const float *bias, float *y, int n, int cols) {                         \
    const __m256i flip = _mm256_set1_epi8((char)0x80), ones = _mm256_set1_epi16(1);                        \
    __m256i acc[MR][2];                                                                                   \
    for (int r = 0; r < MR; r++) { acc[r][0] = _mm256_setzero_si256(); acc[r][1] = _mm256_setzero_si256(); } \
    MADDUBS_QUADS(MR, 0, k4 / 4)                                                                          \
    for (int r = 0; r < MR; r++) ce_avx2_dequant16(acc[r][0], acc[r][1], sx[r], sw, bias, y + (size_t)r * n, cols); \
}
U8_AVX2_TILE(4)
U8_AVX2_TILE(2)
U8_AVX2_TILE(1)

/* Grouped: the int32 sums restart per group and fold into fp32 sums with the group's 16 column scales. */
#define U8_AVX2_GTILE(MR)                                                                                  \
AVX2 static void u8gtile_avx2_##MR(const uint8_t *u, int k4, const int8_t *panel, int gq, int groups,    \
                                   const float *swp, const float *sx, int sxg, const float *bias, float *y, int n, int cols) { \
    const __m256i flip = _mm256_set1_epi8((char)0x80), ones = _mm256_set1_epi16(1);                        \
    __m256 s[MR][2];                                                                                      \
    for (int r = 0; r < MR; r++) { s[r][0] = _mm256_setzero_ps(); s[r][1] = _mm256_setzero_ps(); }       \
    for (int g = 0; g < groups; g++) {                                                                    \
        __m256i acc[MR][2];                                                                               \
        for (int r = 0; r < MR; r++) { acc[r][0] = _mm256_setzero_si256(); acc[r][1] = _mm256_setzero_si256(); } \
        int p1 = (g + 1) * gq < k4 / 4 ? (g + 1) * gq : k4 / 4;                                          \
        MADDUBS_QUADS(MR, g * gq, p1)                                                                     \
        __m256 g0 = _mm256_loadu_ps(swp + (size_t)g * 16), g1 = _mm256_loadu_ps(swp + (size_t)g * 16 + 8); \
        for (int r = 0; r < MR; r++) {                                                                    \
            __m256 x = _mm256_set1_ps(sxg > 1 ? sx[(size_t)r * sxg + g] : 1.0f);                          \
            __m256 h0 = sxg > 1 ? _mm256_mul_ps(g0, x) : g0, h1 = sxg > 1 ? _mm256_mul_ps(g1, x) : g1;     \
            s[r][0] = _mm256_add_ps(s[r][0], _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][0]), h0));           \
            s[r][1] = _mm256_add_ps(s[r][1], _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][1]), h1));           \
        }                                                                                                 \
    }                                                                                                     \
    for (int r = 0; r < MR; r++) ce_avx2_scale16(s[r][0], s[r][1], sxg > 1 ? 1.0f : sx[r], bias, y + (size_t)r * n, cols); \
}
U8_AVX2_GTILE(2)
U8_AVX2_GTILE(1)
#endif

/* A panel's `cols` (≤ width) values of v from column j into dst, zero past them; NULL when v is NULL. */
static inline const float *panel_floats(float *dst, int width, const float *v, int j, int cols) {
    if (!v) return NULL;
    memset(dst, 0, (size_t)width * sizeof(float));
    memcpy(dst, v + j, (size_t)cols * sizeof(float));
    return dst;
}

/* Per-panel tables of `np` panels from column j: scales sw and negated corrections as [groups][np·16], zero past
 * the last column. Tables of at most STACK_TABLE entries live on the caller's stack. */
#define STACK_TABLE 2048
#if defined(__x86_64__)
static void panel_tables(int np, int j, int cols, int groups, const float *sw, const int32_t *corr, float *swp, int32_t *ncp) {
    int w = 16 * np;
    for (int g = 0; g < groups; g++)
        for (int c = 0; c < w; c++) {
            swp[g * w + c] = c < cols ? sw[(size_t)(j + c) * groups + g] : 0;
            ncp[g * w + c] = c < cols ? -corr[(size_t)(j + c) * groups + g] : 0;
        }
}
#endif

#if defined(__x86_64__)
AVX2 static int u8s8_avx2(const uint8_t *u, const int8_t *packed, const int32_t *corr, int m, int n, int k, int group,
                          const float *sx, int sxg, const float *sw, const float *bias, float *y) {
    int k4 = quads(k), panels = (n + 15) / 16, groups = group > 0 ? groups_of(k, group) : 1, gq = group_quads(k, group);
    float swbuf[STACK_TABLE];
    int32_t ncbuf[STACK_TABLE];
    float *swp = swbuf;
    int32_t *ncp = ncbuf;
    if ((size_t)groups * 16 > STACK_TABLE) {
        swp = malloc((size_t)groups * 16 * sizeof(float));
        ncp = malloc((size_t)groups * 16 * sizeof(int32_t));
        if (!swp || !ncp) { free(swp == swbuf ? NULL : swp); free(ncp == ncbuf ? NULL : ncp); return 0; }
    }
    for (int i0 = 0; i0 < m; i0 += 96) {
        int i1 = i0 + 96 < m ? i0 + 96 : m;
        for (int p = 0; p < panels; p++) {
            const int8_t *panel = packed + (size_t)p * k4 * 16;
            int j = p * 16, cols = n - j < 16 ? n - j : 16;
            float bp[16];
            const float *b = panel_floats(bp, 16, bias, j, cols);
            int i = i0;
            if (group <= 0) {
                float swq[16];
                panel_floats(swq, 16, sw, j, cols);
                for (; i + 4 <= i1; i += 4) u8tile_avx2_4(u + (size_t)i * k4, k4, panel, sx + i, swq, b, y + (size_t)i * n + j, n, cols);
                for (; i + 2 <= i1; i += 2) u8tile_avx2_2(u + (size_t)i * k4, k4, panel, sx + i, swq, b, y + (size_t)i * n + j, n, cols);
                for (; i < i1; i++) u8tile_avx2_1(u + (size_t)i * k4, k4, panel, sx + i, swq, b, y + (size_t)i * n + j, n, cols);
            } else {
                panel_tables(1, j, cols, groups, sw, corr, swp, ncp);
                for (; i + 2 <= i1; i += 2) u8gtile_avx2_2(u + (size_t)i * k4, k4, panel, gq, groups, swp, sx + (size_t)i * sxg, sxg, b, y + (size_t)i * n + j, n, cols);
                for (; i < i1; i++) u8gtile_avx2_1(u + (size_t)i * k4, k4, panel, gq, groups, swp, sx + (size_t)i * sxg, sxg, b, y + (size_t)i * n + j, n, cols);
            }
        }
    }
    if (swp != swbuf) { free(swp); free(ncp); }
    return 1;
}

/* ---- vpdpbusd on zmm (AVX-512 VNNI) and on ymm (AVX-VNNI, or AVX-512 VL + VNNI) ----
 * One vpdpbusd per row and panel per quad: the row's four u8 (broadcast) times each column's four s8, added to the
 * column's int32 sum. The sums start at −corr, so they end at Σ a·w exactly; the epilogue is ce_avx2_dequant16's. */
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

VNNI static inline __mmask16 vmask16(int cols) { return cols >= 16 ? (__mmask16)0xFFFF : cols <= 0 ? 0 : (__mmask16)((1u << cols) - 1); }

#define ZMM_QUADS(MR, NP, p0, p1)                                                                          \
    for (int p = (p0); p < (p1); p++) {                                                                   \
        __m512i w[NP];                                                                                    \
        for (int q = 0; q < NP; q++) w[q] = _mm512_loadu_si512((const void *)(panel + (size_t)q * pstride + (size_t)p * 64)); \
        for (int r = 0; r < MR; r++) {                                                                    \
            int32_t q4;                                                                                   \
            memcpy(&q4, u + (size_t)r * k4 + 4 * p, 4);                                                   \
            __m512i a = _mm512_set1_epi32(q4);                                                            \
            for (int q = 0; q < NP; q++) acc[r][q] = _mm512_dpbusd_epi32(acc[r][q], a, w[q]);             \
        }                                                                                                 \
    }

#define ZMM_TILE(MR, NP)                                                                                   \
VNNI static void u8ztile_##MR##_##NP(const uint8_t *u, int k4, const int8_t *panel, size_t pstride, const int32_t *ncp, \
                                    const float *sx, const float *sw, const float *bias, float *y, int n, int cols) { \
    __m512i acc[MR][NP];                                                                                  \
    for (int q = 0; q < NP; q++) {                                                                        \
        __m512i c = _mm512_loadu_si512((const void *)(ncp + 16 * q));                                     \
        for (int r = 0; r < MR; r++) acc[r][q] = c;                                                       \
    }                                                                                                     \
    ZMM_QUADS(MR, NP, 0, k4 / 4)                                                                          \
    for (int q = 0; q < NP; q++) {                                                                        \
        __mmask16 mask = vmask16(cols - 16 * q);                                                          \
        __m512 swq = _mm512_loadu_ps(sw + 16 * q), bq = bias ? _mm512_loadu_ps(bias + 16 * q) : _mm512_setzero_ps(); \
        for (int r = 0; r < MR; r++) {                                                                    \
            __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][q]), _mm512_set1_ps(sx[r])), swq); \
            if (bias) v = _mm512_add_ps(v, bq);                                                           \
            _mm512_mask_storeu_ps(y + (size_t)r * n + 16 * q, mask, v);                                   \
        }                                                                                                 \
    }                                                                                                     \
}
ZMM_TILE(8, 2)
ZMM_TILE(4, 2)
ZMM_TILE(2, 2)
ZMM_TILE(1, 2)
ZMM_TILE(8, 1)
ZMM_TILE(4, 1)
ZMM_TILE(2, 1)
ZMM_TILE(1, 1)

/* Grouped: sums restart at the group's −corr; each group folds in as (float)acc·scale, in group order. */
#define ZMM_GTILE(MR, NP)                                                                                  \
VNNI static void u8zgtile_##MR##_##NP(const uint8_t *u, int k4, const int8_t *panel, size_t pstride, int gq, int groups, \
                                     const float *swp, const int32_t *ncp, const float *sx, int sxg, const float *bias, \
                                     float *y, int n, int cols) {                                         \
    __m512 s[MR][NP];                                                                                     \
    for (int r = 0; r < MR; r++) for (int q = 0; q < NP; q++) s[r][q] = _mm512_setzero_ps();             \
    for (int g = 0; g < groups; g++) {                                                                    \
        __m512i acc[MR][NP];                                                                              \
        for (int q = 0; q < NP; q++) {                                                                    \
            __m512i c = _mm512_loadu_si512((const void *)(ncp + (size_t)g * NP * 16 + 16 * q));           \
            for (int r = 0; r < MR; r++) acc[r][q] = c;                                                   \
        }                                                                                                 \
        int p1 = (g + 1) * gq < k4 / 4 ? (g + 1) * gq : k4 / 4;                                           \
        ZMM_QUADS(MR, NP, g * gq, p1)                                                                     \
        for (int q = 0; q < NP; q++) {                                                                    \
            __m512 sc = _mm512_loadu_ps(swp + (size_t)g * NP * 16 + 16 * q);                              \
            for (int r = 0; r < MR; r++) {                                                                \
                __m512 h = sxg > 1 ? _mm512_mul_ps(sc, _mm512_set1_ps(sx[(size_t)r * sxg + g])) : sc;     \
                s[r][q] = _mm512_add_ps(s[r][q], _mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][q]), h));        \
            }                                                                                             \
        }                                                                                                 \
    }                                                                                                     \
    for (int q = 0; q < NP; q++) {                                                                        \
        __mmask16 mask = vmask16(cols - 16 * q);                                                          \
        __m512 bq = bias ? _mm512_loadu_ps(bias + 16 * q) : _mm512_setzero_ps();                          \
        for (int r = 0; r < MR; r++) {                                                                    \
            __m512 v = _mm512_mul_ps(s[r][q], _mm512_set1_ps(sxg > 1 ? 1.0f : sx[r]));                    \
            if (bias) v = _mm512_add_ps(v, bq);                                                           \
            _mm512_mask_storeu_ps(y + (size_t)r * n + 16 * q, mask, v);                                   \
        }                                                                                                 \
    }                                                                                                     \
}
ZMM_GTILE(6, 2)
ZMM_GTILE(4, 2)
ZMM_GTILE(2, 2)
ZMM_GTILE(1, 2)
ZMM_GTILE(6, 1)
ZMM_GTILE(4, 1)
ZMM_GTILE(2, 1)
ZMM_GTILE(1, 1)

#define ZROWS(NP)                                                                                          \
    for (; i + 8 <= i1; i += 8) u8ztile_8_##NP(u + (size_t)i * k4, k4, panel, pstride, ncp, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
    for (; i + 4 <= i1; i += 4) u8ztile_4_##NP(u + (size_t)i * k4, k4, panel, pstride, ncp, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
    for (; i + 2 <= i1; i += 2) u8ztile_2_##NP(u + (size_t)i * k4, k4, panel, pstride, ncp, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
    for (; i < i1; i++) u8ztile_1_##NP(u + (size_t)i * k4, k4, panel, pstride, ncp, sx + i, swp, b, y + (size_t)i * n + j, n, cols);

#define ZGROWS(NP)                                                                                         \
    for (; i + 6 <= i1; i += 6) u8zgtile_6_##NP(u + (size_t)i * k4, k4, panel, pstride, gq, groups, swp, ncp, sx + (size_t)i * sxg, sxg, b, y + (size_t)i * n + j, n, cols); \
    for (; i + 4 <= i1; i += 4) u8zgtile_4_##NP(u + (size_t)i * k4, k4, panel, pstride, gq, groups, swp, ncp, sx + (size_t)i * sxg, sxg, b, y + (size_t)i * n + j, n, cols); \
    for (; i + 2 <= i1; i += 2) u8zgtile_2_##NP(u + (size_t)i * k4, k4, panel, pstride, gq, groups, swp, ncp, sx + (size_t)i * sxg, sxg, b, y + (size_t)i * n + j, n, cols); \
    for (; i < i1; i++) u8zgtile_1_##NP(u + (size_t)i * k4, k4, panel, pstride, gq, groups, swp, ncp, sx + (size_t)i * sxg, sxg, b, y + (size_t)i * n + j, n, cols);

VNNI static int u8s8_zmm(const uint8_t *u, const int8_t *packed, const int32_t *corr, int m, int n, int k, int group,
                         const float *sx, int sxg, const float *sw, const float *bias, float *y) {
    int k4 = quads(k), panels = (n + 15) / 16, groups = group > 0 ? groups_of(k, group) : 1, gq = group_quads(k, group);
    size_t pstride = (size_t)k4 * 16;
    float swbuf[STACK_TABLE];
    int32_t ncbuf[STACK_TABLE];
    float *swp = swbuf;
    int32_t *ncp = ncbuf;
    if ((size_t)groups * 32 > STACK_TABLE) {
        swp = malloc((size_t)groups * 32 * sizeof(float));
        ncp = malloc((size_t)groups * 32 * sizeof(int32_t));
        if (!swp || !ncp) { free(swp == swbuf ? NULL : swp); free(ncp == ncbuf ? NULL : ncp); return 0; }
    }
    /* Rows in blocks of 96 so one block of activations stays in L1/L2 while the panels stream by. */
    for (int i0 = 0; i0 < m; i0 += 96) {
        int i1 = i0 + 96 < m ? i0 + 96 : m;
        for (int p = 0; p < panels; p += 2) {
            const int8_t *panel = packed + (size_t)p * pstride;
            int np = p + 1 < panels ? 2 : 1, j = p * 16, cols = n - j < 16 * np ? n - j : 16 * np;
            float bp[32];
            const float *b = panel_floats(bp, 32, bias, j, cols);
            panel_tables(np, j, cols, groups, sw, corr, swp, ncp);
            int i = i0;
            if (group <= 0) {
                if (np == 2) { ZROWS(2) } else { ZROWS(1) }
            } else {
                if (np == 2) { ZGROWS(2) } else { ZGROWS(1) }
            }
        }
    }
    if (swp != swbuf) { free(swp); free(ncp); }
    return 1;
}

/* ymm vpdpbusd: the same tiles at 8 columns per register, two registers per 16-column panel. Compiled twice from
 * one source: VEX-encoded for AVX-VNNI (CPUs without AVX-512) and EVEX-encoded for AVX-512 VL + VNNI. */
#define YMM_KERNELS(SUFFIX, TARGET, DPBUSD)                                                               \
TARGET static inline __attribute__((always_inline)) void u8ytile_##SUFFIX(const int MR, const uint8_t *u, int k4, const int8_t *panel, const int32_t *ncp, \
                                    const float *sx, const float *sw, const float *bias, float *y, int n, int cols) { \
    __m256i acc[6][2];                                                                                    \
    __m256i c0 = _mm256_loadu_si256((const __m256i *)ncp), c1 = _mm256_loadu_si256((const __m256i *)(ncp + 8)); \
    for (int r = 0; r < 6; r++) { acc[r][0] = c0; acc[r][1] = c1; }                                       \
    for (int p = 0; p < k4 / 4; p++) {                                                                    \
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(panel + (size_t)p * 64));                       \
        __m256i w1 = _mm256_loadu_si256((const __m256i *)(panel + (size_t)p * 64 + 32));                  \
        for (int r = 0; r < 6; r++) {                                                                     \
            if (r >= MR) break;                                                                           \
            int32_t q4;                                                                                   \
            memcpy(&q4, u + (size_t)r * k4 + 4 * p, 4);                                                   \
            __m256i a = _mm256_set1_epi32(q4);                                                            \
            acc[r][0] = DPBUSD(acc[r][0], a, w0);                                                         \
            acc[r][1] = DPBUSD(acc[r][1], a, w1);                                                         \
        }                                                                                                 \
    }                                                                                                     \
    for (int r = 0; r < MR; r++) ce_avx2_dequant16(acc[r][0], acc[r][1], sx[r], sw, bias, y + (size_t)r * n, cols); \
}                                                                                                         \
TARGET static inline __attribute__((always_inline)) void u8ygtile_##SUFFIX(const int MR, const uint8_t *u, int k4, const int8_t *panel, int gq, int groups, \
                                     const float *swp, const int32_t *ncp, const float *sx, int sxg,      \
                                     const float *bias, float *y, int n, int cols) {                      \
    __m256 s[3][2];                                                                                       \
    for (int r = 0; r < 3; r++) { s[r][0] = _mm256_setzero_ps(); s[r][1] = _mm256_setzero_ps(); }       \
    for (int g = 0; g < groups; g++) {                                                                    \
        __m256i acc[3][2];                                                                                \
        __m256i c0 = _mm256_loadu_si256((const __m256i *)(ncp + (size_t)g * 16));                         \
        __m256i c1 = _mm256_loadu_si256((const __m256i *)(ncp + (size_t)g * 16 + 8));                     \
        for (int r = 0; r < 3; r++) { acc[r][0] = c0; acc[r][1] = c1; }                                   \
        int p1 = (g + 1) * gq < k4 / 4 ? (g + 1) * gq : k4 / 4;                                           \
        for (int p = g * gq; p < p1; p++) {                                                               \
            __m256i w0 = _mm256_loadu_si256((const __m256i *)(panel + (size_t)p * 64));                   \
            __m256i w1 = _mm256_loadu_si256((const __m256i *)(panel + (size_t)p * 64 + 32));              \
            for (int r = 0; r < 3; r++) {                                                                 \
                if (r >= MR) break;                                                                       \
                int32_t q4;                                                                               \
                memcpy(&q4, u + (size_t)r * k4 + 4 * p, 4);                                               \
                __m256i a = _mm256_set1_epi32(q4);                                                        \
                acc[r][0] = DPBUSD(acc[r][0], a, w0);                                                     \
                acc[r][1] = DPBUSD(acc[r][1], a, w1);                                                     \
            }                                                                                             \
        }                                                                                                 \
        __m256 g0 = _mm256_loadu_ps(swp + (size_t)g * 16), g1 = _mm256_loadu_ps(swp + (size_t)g * 16 + 8); \
        for (int r = 0; r < MR; r++) {                                                                    \
            __m256 x = _mm256_set1_ps(sxg > 1 ? sx[(size_t)r * sxg + g] : 1.0f);                          \
            __m256 h0 = sxg > 1 ? _mm256_mul_ps(g0, x) : g0, h1 = sxg > 1 ? _mm256_mul_ps(g1, x) : g1;     \
            s[r][0] = _mm256_add_ps(s[r][0], _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][0]), h0));           \
            s[r][1] = _mm256_add_ps(s[r][1], _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][1]), h1));           \
        }                                                                                                 \
    }                                                                                                     \
    for (int r = 0; r < MR; r++) ce_avx2_scale16(s[r][0], s[r][1], sxg > 1 ? 1.0f : sx[r], bias, y + (size_t)r * n, cols); \
}                                                                                                         \
TARGET static int u8s8_ymm_##SUFFIX(const uint8_t *u, const int8_t *packed, const int32_t *corr, int m, int n, int k, \
                                    int group, const float *sx, int sxg, const float *sw, const float *bias, float *y) { \
    int k4 = quads(k), panels = (n + 15) / 16, groups = group > 0 ? groups_of(k, group) : 1, gq = group_quads(k, group); \
    float swbuf[STACK_TABLE];                                                                             \
    int32_t ncbuf[STACK_TABLE];                                                                           \
    float *swp = swbuf;                                                                                   \
    int32_t *ncp = ncbuf;                                                                                 \
    if ((size_t)groups * 16 > STACK_TABLE) {                                                              \
        swp = malloc((size_t)groups * 16 * sizeof(float));                                                \
        ncp = malloc((size_t)groups * 16 * sizeof(int32_t));                                              \
        if (!swp || !ncp) { free(swp == swbuf ? NULL : swp); free(ncp == ncbuf ? NULL : ncp); return 0; } \
    }                                                                                                     \
    for (int i0 = 0; i0 < m; i0 += 96) {                                                                  \
        int i1 = i0 + 96 < m ? i0 + 96 : m;                                                               \
        for (int p = 0; p < panels; p++) {                                                                \
            const int8_t *panel = packed + (size_t)p * k4 * 16;                                           \
            int j = p * 16, cols = n - j < 16 ? n - j : 16;                                               \
            float bp[16];                                                                                 \
            const float *b = panel_floats(bp, 16, bias, j, cols);                                         \
            panel_tables(1, j, cols, groups, sw, corr, swp, ncp);                                         \
            int i = i0;                                                                                   \
            if (group <= 0) {                                                                             \
                for (; i + 6 <= i1; i += 6) u8ytile_##SUFFIX(6, u + (size_t)i * k4, k4, panel, ncp, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
                for (; i + 2 <= i1; i += 2) u8ytile_##SUFFIX(2, u + (size_t)i * k4, k4, panel, ncp, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
                for (; i < i1; i++) u8ytile_##SUFFIX(1, u + (size_t)i * k4, k4, panel, ncp, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
            } else {                                                                                      \
                for (; i + 3 <= i1; i += 3) u8ygtile_##SUFFIX(3, u + (size_t)i * k4, k4, panel, gq, groups, swp, ncp, sx + (size_t)i * sxg, sxg, b, y + (size_t)i * n + j, n, cols); \
                for (; i < i1; i++) u8ygtile_##SUFFIX(1, u + (size_t)i * k4, k4, panel, gq, groups, swp, ncp, sx + (size_t)i * sxg, sxg, b, y + (size_t)i * n + j, n, cols); \
            }                                                                                             \
        }                                                                                                 \
    }                                                                                                     \
    if (swp != swbuf) { free(swp); free(ncp); }                                                           \
    return 1;                                                                                             \
}

YMM_KERNELS(evex, __attribute__((target("avx2,fma,avx512f,avx512vl,avx512vnni"))), _mm256_dpbusd_epi32)
YMM_KERNELS(vex, __attribute__((target("avx2,fma,avxvnni"))), _mm256_dpbusd_avx_epi32)
#endif

#if defined(__aarch64__)
/* ---- ARM64 (formats/quantization.md, "The u8 x s8 kernel") ----
 * sdot and smmla multiply s8 by s8, so these paths take the codes back in-register, a = u ^ 0x80 (one eor per 16
 * activation bytes), and sum Σ a·w from zero: corr stays in the format (x86 and ARM share panels and artifacts) but
 * is not read. Each engine sets acc[r][q] (columns 4q ..< 4q + 4 of row r) to the exact int32 sums over quads
 * p0 ..< p1, for MR ≤ 4 rows; the epilogues are ce_neon_dequant16 / ce_neon_fold16 + ce_neon_scale16. */

/* The s8 codes of the four bytes at p, in every 32-bit lane. */
CE_NEON_INLINE int8x16_t codes_dup4(const uint8_t *p) {
    uint32_t q4;
    memcpy(&q4, p, 4);
    return vreinterpretq_s8_u8(veorq_u8(vreinterpretq_u8_u32(vdupq_n_u32(q4)), vdupq_n_u8(0x80)));
}

/* Plain NEON: smull makes a quad's 16 products with 4 columns as int16 (|a·w| ≤ 127·128), sadalp adds neighbours
 * into int32 halves h, addp joins the halves per column. MR ≤ 2 keeps the halves in registers. */
CE_NEON_INLINE void quads_neon(const int MR, const uint8_t *u, int k4, const int8_t *panel, int p0, int p1, int32x4_t acc[4][4]) {
    int32x4_t h[2][4][2];
    for (int r = 0; r < MR; r++) for (int q = 0; q < 4; q++) h[r][q][0] = h[r][q][1] = vdupq_n_s32(0);
    for (int p = p0; p < p1; p++) {
        int8x16_t w[4];
        for (int q = 0; q < 4; q++) w[q] = vld1q_s8(panel + (size_t)p * 64 + 16 * q);
        for (int r = 0; r < MR; r++) {
            int8x16_t a = codes_dup4(u + (size_t)r * k4 + 4 * p);
            for (int q = 0; q < 4; q++) {
                h[r][q][0] = vpadalq_s16(h[r][q][0], vmull_s8(vget_low_s8(a), vget_low_s8(w[q])));
                h[r][q][1] = vpadalq_s16(h[r][q][1], vmull_high_s8(a, w[q]));
            }
        }
    }
    for (int r = 0; r < MR; r++) for (int q = 0; q < 4; q++) acc[r][q] = vpaddq_s32(h[r][q][0], h[r][q][1]);
}

/* dotprod: one sdot per row, quad and 4 columns; four quads of a row's codes per load, taken by lane. */
#define SDOT_LANE(L)                                                                                       \
    for (int q = 0; q < 4; q++) w[q] = vld1q_s8(panel + (size_t)(p + L) * 64 + 16 * q);                   \
    for (int r = 0; r < MR; r++) for (int q = 0; q < 4; q++) acc[r][q] = vdotq_laneq_s32(acc[r][q], w[q], a[r], L);
CE_NEON_DOTPROD CE_NEON_INLINE void quads_sdot(const int MR, const uint8_t *u, int k4, const int8_t *panel, int p0, int p1, int32x4_t acc[4][4]) {
    int8x16_t w[4], a[4];
    for (int r = 0; r < MR; r++) for (int q = 0; q < 4; q++) acc[r][q] = vdupq_n_s32(0);
    int p = p0;
    for (; p + 4 <= p1; p += 4) {
        for (int r = 0; r < MR; r++) a[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(u + (size_t)r * k4 + 4 * p), vdupq_n_u8(0x80)));
        SDOT_LANE(0) SDOT_LANE(1) SDOT_LANE(2) SDOT_LANE(3)
    }
    for (; p < p1; p++) {
        for (int q = 0; q < 4; q++) w[q] = vld1q_s8(panel + (size_t)p * 64 + 16 * q);
        for (int r = 0; r < MR; r++) {
            int8x16_t x = codes_dup4(u + (size_t)r * k4 + 4 * p);
            for (int q = 0; q < 4; q++) acc[r][q] = vdotq_s32(acc[r][q], w[q], x);
        }
    }
}

/* i8mm: smmla multiplies a 2 x 8 block of codes (rows 2h, 2h + 1; quads p, p + 1) by a 2 x 8 block of weights (two
 * columns) into a 2 x 2 block of sums. zip1/zip2 of quads p and p + 1 (32-bit lanes) make the weight blocks of columns
 * (4q, 4q + 1) and (4q + 2, 4q + 3); a lone last quad pairs with zero weights. m[h][2q + e] holds rows (2h, 2h + 1) x
 * columns (4q + 2e, 4q + 2e + 1); zip1/zip2 on 64-bit lanes turn them back into rows. A missing row 2h + 1 is 0x80
 * bytes (code 0), its sums dropped. */
CE_NEON_I8MM CE_NEON_INLINE void quads_mmla(const int MR, const uint8_t *u, int k4, const int8_t *panel, int p0, int p1, int32x4_t acc[4][4]) {
    int32x4_t m[2][8];
    const int H = (MR + 1) / 2;
    for (int h = 0; h < H; h++) for (int c = 0; c < 8; c++) m[h][c] = vdupq_n_s32(0);
    for (int p = p0; p < p1; p += 2) {
        int pair = p + 1 < p1;
        int8x16_t wz[8];
        for (int q = 0; q < 4; q++) {
            int32x4_t x = vreinterpretq_s32_s8(vld1q_s8(panel + (size_t)p * 64 + 16 * q));
            int32x4_t y = pair ? vreinterpretq_s32_s8(vld1q_s8(panel + (size_t)(p + 1) * 64 + 16 * q)) : vdupq_n_s32(0);
            wz[2 * q] = vreinterpretq_s8_s32(vzip1q_s32(x, y));
            wz[2 * q + 1] = vreinterpretq_s8_s32(vzip2q_s32(x, y));
        }
        for (int h = 0; h < H; h++) {
            uint8x8_t lo, hi = vdup_n_u8(0x80);
            if (pair) {
                lo = vld1_u8(u + (size_t)(2 * h) * k4 + 4 * p);
                if (2 * h + 1 < MR) hi = vld1_u8(u + (size_t)(2 * h + 1) * k4 + 4 * p);
            } else {
                uint32_t q0, q1 = 0x80808080u;
                memcpy(&q0, u + (size_t)(2 * h) * k4 + 4 * p, 4);
                if (2 * h + 1 < MR) memcpy(&q1, u + (size_t)(2 * h + 1) * k4 + 4 * p, 4);
                lo = vreinterpret_u8_u32(vdup_n_u32(q0));
                hi = vreinterpret_u8_u32(vdup_n_u32(q1));
            }
            int8x16_t a = vreinterpretq_s8_u8(veorq_u8(vcombine_u8(lo, hi), vdupq_n_u8(0x80)));
            for (int c = 0; c < 8; c++) m[h][c] = vmmlaq_s32(m[h][c], a, wz[c]);
        }
    }
    for (int h = 0; h < H; h++)
        for (int q = 0; q < 4; q++) {
            int64x2_t e0 = vreinterpretq_s64_s32(m[h][2 * q]), e1 = vreinterpretq_s64_s32(m[h][2 * q + 1]);
            acc[2 * h][q] = vreinterpretq_s32_s64(vzip1q_s64(e0, e1));
            if (2 * h + 1 < MR) acc[2 * h + 1][q] = vreinterpretq_s32_s64(vzip2q_s64(e0, e1));
        }
}

/* One level's tiles and driver: MR rows x 16 columns of one panel, whole k (dequant epilogue) or per group (grouped
 * epilogue); rows in blocks of 96, tiles of BIG, 2 and 1 rows. swp: the panel's scales as [groups][16]. */
#define U8S8_NEON_LEVEL(NAME, TARGET, ENGINE, BIG)                                                         \
TARGET CE_NEON_INLINE void u8tile_##NAME(const int MR, const uint8_t *u, int k4, const int8_t *panel, const float *sx, \
                                         const float *sw, const float *bias, float *y, int n, int cols) { \
    int32x4_t acc[4][4];                                                                                  \
    ENGINE(MR, u, k4, panel, 0, k4 / 4, acc);                                                             \
    for (int r = 0; r < MR; r++) ce_neon_dequant16(acc[r], sx[r], sw, bias, y + (size_t)r * n, cols);    \
}                                                                                                         \
TARGET CE_NEON_INLINE void u8gtile_##NAME(const int MR, const uint8_t *u, int k4, const int8_t *panel, int gq, int groups, \
                                          const float *swp, const float *sx, int sxg, const float *bias, float *y, int n, \
                                          int cols) {                                                     \
    float32x4_t s[4][4];                                                                                  \
    int32x4_t acc[4][4];                                                                                  \
    for (int r = 0; r < MR; r++) for (int q = 0; q < 4; q++) s[r][q] = vdupq_n_f32(0);                   \
    for (int g = 0; g < groups; g++) {                                                                    \
        int p1 = (g + 1) * gq < k4 / 4 ? (g + 1) * gq : k4 / 4;                                           \
        ENGINE(MR, u, k4, panel, g * gq, p1, acc);                                                        \
        for (int r = 0; r < MR; r++) {                                                                    \
            float h[16];                                                                                  \
            const float *sc = swp + (size_t)g * 16;                                                       \
            if (sxg > 1) { for (int c = 0; c < 16; c++) h[c] = sc[c] * sx[(size_t)r * sxg + g]; sc = h; } \
            ce_neon_fold16(s[r], acc[r], sc);                                                             \
        }                                                                                                 \
    }                                                                                                     \
    for (int r = 0; r < MR; r++) ce_neon_scale16(s[r], sxg > 1 ? 1.0f : sx[r], bias, y + (size_t)r * n, cols); \
}                                                                                                         \
TARGET static int u8s8_##NAME(const uint8_t *u, const int8_t *packed, int m, int n, int k, int group,   \
                              const float *sx, int sxg, const float *sw, const float *bias, float *y) {   \
    int k4 = quads(k), panels = (n + 15) / 16, groups = group > 0 ? groups_of(k, group) : 1, gq = group_quads(k, group); \
    float swbuf[STACK_TABLE];                                                                             \
    float *swp = (size_t)groups * 16 > STACK_TABLE ? malloc((size_t)groups * 16 * sizeof(float)) : swbuf; \
    if (!swp) return 0;                                                                                   \
    for (int i0 = 0; i0 < m; i0 += 96) {                                                                  \
        int i1 = i0 + 96 < m ? i0 + 96 : m;                                                               \
        for (int p = 0; p < panels; p++) {                                                                \
            const int8_t *panel = packed + (size_t)p * k4 * 16;                                           \
            int j = p * 16, cols = n - j < 16 ? n - j : 16;                                               \
            float bp[16];                                                                                 \
            const float *b = panel_floats(bp, 16, bias, j, cols);                                         \
            for (int g = 0; g < groups; g++)                                                              \
                for (int c = 0; c < 16; c++) swp[g * 16 + c] = c < cols ? sw[(size_t)(j + c) * groups + g] : 0; \
            int i = i0;                                                                                   \
            if (group <= 0) {                                                                             \
                for (; i + BIG <= i1; i += BIG) u8tile_##NAME(BIG, u + (size_t)i * k4, k4, panel, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
                for (; i + 2 <= i1; i += 2) u8tile_##NAME(2, u + (size_t)i * k4, k4, panel, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
                for (; i < i1; i++) u8tile_##NAME(1, u + (size_t)i * k4, k4, panel, sx + i, swp, b, y + (size_t)i * n + j, n, cols); \
            } else {                                                                                      \
                for (; i + BIG <= i1; i += BIG) u8gtile_##NAME(BIG, u + (size_t)i * k4, k4, panel, gq, groups, swp, sx + (size_t)i * sxg, sxg, b, y + (size_t)i * n + j, n, cols); \
                for (; i + 2 <= i1; i += 2) u8gtile_##NAME(2, u + (size_t)i * k4, k4, panel, gq, groups, swp, sx + (size_t)i * sxg, sxg, b, y + (size_t)i * n + j, n, cols); \
                for (; i < i1; i++) u8gtile_##NAME(1, u + (size_t)i * k4, k4, panel, gq, groups, swp, sx + (size_t)i * sxg, sxg, b, y + (size_t)i * n + j, n, cols); \
            }                                                                                             \
        }                                                                                                 \
    }                                                                                                     \
    if (swp != swbuf) free(swp);                                                                          \
    return 1;                                                                                             \
}

U8S8_NEON_LEVEL(neon, , quads_neon, 2)
U8S8_NEON_LEVEL(sdot, CE_NEON_DOTPROD, quads_sdot, 4)
U8S8_NEON_LEVEL(mmla, CE_NEON_I8MM, quads_mmla, 4)
#endif

/* ---- dispatch ---- */

static int features(void) {
    static int f = -1;
    if (f < 0) f = ce_cpu_features();
    return f;
}

static int u8_cap = 3;
void ce_limit_u8s8_variant(int max) { u8_cap = max < 0 ? 3 : max; }

/* Bit v set: variant v runs on this CPU (0 portable, 1 AVX2, 2 ymm vpdpbusd, 3 zmm vpdpbusd; ARM64: 1 NEON, 2 sdot,
 * 3 smmla). */
static int u8_available(void) {
    static int mask = -1;
    if (mask < 0) {
        int f = features(), m = 1;
#if defined(__aarch64__)
        if (f & CE_CPU_NEON) m |= 2 | (f & CE_CPU_DOTPROD ? 4 : 0) | (f & CE_CPU_I8MM ? 8 : 0);
#endif
        if ((f & CE_CPU_AVX2) && (f & CE_CPU_FMA)) {
            m |= 2;
            if ((f & CE_CPU_AVXVNNI) || ((f & CE_CPU_AVX512VL) && (f & CE_CPU_AVX512VNNI))) m |= 4;
            if ((f & CE_CPU_AVX512F) && (f & CE_CPU_AVX512BW) && (f & CE_CPU_AVX512VNNI)) m |= 8;
        }
        mask = m;
    }
    return mask;
}

int ce_qgemm_u8s8_variant(void) {
    int mask = ce_fp32_variant() == 1 ? u8_available() : 1;
    for (int v = u8_cap; v > 0; v--) if (mask & (1 << v)) return v;
    return 0;
}

int ce_qgemm_u8s8_ymm_encoding(void) {
#if defined(__x86_64__)
    return (features() & CE_CPU_AVXVNNI) ? 1 : 2;
#else
    return 0;
#endif
}

void ce_qgemm_u8s8_f32(const uint8_t *u, const int8_t *packed, const int32_t *corr, int m, int n, int k, int group,
                       const float *sx, const float *sw, const float *bias, float *y) {
    ce_qgemm_u8s8_gx_f32(u, packed, corr, m, n, k, group, sx, 1, sw, bias, y);
}

void ce_qgemm_u8s8_gx_f32(const uint8_t *u, const int8_t *packed, const int32_t *corr, int m, int n, int k, int group,
                          const float *sx, int sxg, const float *sw, const float *bias, float *y) {
    if (group <= 0 || group >= k) sxg = 1;
#if defined(__x86_64__)
    switch (ce_qgemm_u8s8_variant()) {
    case 3: if (u8s8_zmm(u, packed, corr, m, n, k, group, sx, sxg, sw, bias, y)) return; break;
    case 2:
        if (features() & CE_CPU_AVXVNNI) { if (u8s8_ymm_vex(u, packed, corr, m, n, k, group, sx, sxg, sw, bias, y)) return; }
        else if (u8s8_ymm_evex(u, packed, corr, m, n, k, group, sx, sxg, sw, bias, y)) return;
        break;
    case 1: if (u8s8_avx2(u, packed, corr, m, n, k, group, sx, sxg, sw, bias, y)) return; break;
    default: break;
    }
#elif defined(__aarch64__)
    switch (ce_qgemm_u8s8_variant()) {
    case 3: if (u8s8_mmla(u, packed, m, n, k, group, sx, sxg, sw, bias, y)) return; break;
    case 2: if (u8s8_sdot(u, packed, m, n, k, group, sx, sxg, sw, bias, y)) return; break;
    case 1: if (u8s8_neon(u, packed, m, n, k, group, sx, sxg, sw, bias, y)) return; break;
    default: break;
    }
#endif
    ce_qgemm_u8s8_gx_f32_reference(u, packed, corr, m, n, k, group, sx, sxg, sw, bias, y);
}
