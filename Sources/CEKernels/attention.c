#include "cekernels.h"
#include "neon_common.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static inline int round8(int n) { return (n + 7) & ~7; }
static inline int round16(int n) { return (n + 15) & ~15; }

/* Either x86 path: up to eight rows of scores and kᵀ, rows padded to 16 floats (the AVX2 path uses a prefix). */
size_t ce_attention_scratch_floats(int len, int dh) { return (size_t)(8 + dh) * (size_t)round16(len); }

/* 0 portable, 1 AVX2 + FMA (or NEON), 2 AVX-512F; capped by ce_limit_attention_variant for tests. */
static int attention_cap = 2;
void ce_limit_attention_variant(int max) { attention_cap = max < 0 ? 2 : max; }

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma")))

/* scores[i, j0 .. j0+8·NB) = scale · Σ_d q[i, d] · kt[d, j0 + c], MR query rows at a time. Columns past len
   read the zero padding of kt and are written to the row's padding. */
#define QK_TILE(MR, NB)                                                                                  \
AVX2 static inline void qk_##MR##x##NB(const float *q, int ld, const float *kt, int lp, int dh, float scale, \
                                         float *s, int j0) {                                             \
    __m256 acc[MR][NB];                                                                                  \
    for (int r = 0; r < MR; r++) for (int b = 0; b < NB; b++) acc[r][b] = _mm256_setzero_ps();           \
    for (int d = 0; d < dh; d++) {                                                                       \
        __m256 k[NB];                                                                                    \
        for (int b = 0; b < NB; b++) k[b] = _mm256_loadu_ps(kt + (size_t)d * lp + j0 + 8 * b);           \
        for (int r = 0; r < MR; r++) {                                                                   \
            __m256 a = _mm256_broadcast_ss(q + (size_t)r * ld + d);                                      \
            for (int b = 0; b < NB; b++) acc[r][b] = _mm256_fmadd_ps(a, k[b], acc[r][b]);                \
        }                                                                                                \
    }                                                                                                    \
    __m256 sc = _mm256_set1_ps(scale);                                                                   \
    for (int r = 0; r < MR; r++)                                                                         \
        for (int b = 0; b < NB; b++) _mm256_storeu_ps(s + (size_t)r * lp + j0 + 8 * b, _mm256_mul_ps(acc[r][b], sc)); \
}
QK_TILE(4, 2)
QK_TILE(4, 1)
QK_TILE(1, 2)
QK_TILE(1, 1)

/* out[i, d0 .. d0+8·NB) = Σ_j p[i, j] · v[j, d0 + c], MR rows at a time. */
#define PV_TILE(MR, NB)                                                                                  \
AVX2 static inline void pv_##MR##x##NB(const float *p, int lp, const float *v, int ld, int len, float *out, \
                                         int ldOut) {                                                    \
    __m256 acc[MR][NB];                                                                                  \
    for (int r = 0; r < MR; r++) for (int b = 0; b < NB; b++) acc[r][b] = _mm256_setzero_ps();           \
    for (int j = 0; j < len; j++) {                                                                      \
        __m256 w[NB];                                                                                    \
        for (int b = 0; b < NB; b++) w[b] = _mm256_loadu_ps(v + (size_t)j * ld + 8 * b);                 \
        for (int r = 0; r < MR; r++) {                                                                   \
            __m256 a = _mm256_broadcast_ss(p + (size_t)r * lp + j);                                      \
            for (int b = 0; b < NB; b++) acc[r][b] = _mm256_fmadd_ps(a, w[b], acc[r][b]);                \
        }                                                                                                \
    }                                                                                                    \
    for (int r = 0; r < MR; r++)                                                                         \
        for (int b = 0; b < NB; b++) _mm256_storeu_ps(out + (size_t)r * ldOut + 8 * b, acc[r][b]);       \
}
PV_TILE(2, 4)
PV_TILE(1, 4)
PV_TILE(4, 1)
PV_TILE(1, 1)

AVX2 static void attention_avx2(const float *q, const float *k, const float *v, int ld, float *out, int ldOut,
                                int len, int dh, float scale, float *scratch) {
    int lp = round8(len);
    float *s = scratch, *kt = scratch + (size_t)4 * lp;
    /* kt[d, j] = k[j, d], zero past len */
    for (int d = 0; d < dh; d++) {
        float *row = kt + (size_t)d * lp;
        for (int j = 0; j < len; j++) row[j] = k[(size_t)j * ld + d];
        for (int j = len; j < lp; j++) row[j] = 0;
    }
    /* Four query rows at a time: their scores (4 · lp floats) stay in L1 from q·kᵀ through softmax to p·v. */
    for (int i = 0; i < len; i += 4) {
        int rows = len - i < 4 ? len - i : 4;
        const float *qi = q + (size_t)i * ld;
        float *oi = out + (size_t)i * ldOut;
        int j = 0;
        if (rows == 4) {
            for (; j + 16 <= lp; j += 16) qk_4x2(qi, ld, kt, lp, dh, scale, s, j);
            if (j < lp) qk_4x1(qi, ld, kt, lp, dh, scale, s, j);
        } else {
            for (int r = 0; r < rows; r++) {
                for (j = 0; j + 16 <= lp; j += 16) qk_1x2(qi + (size_t)r * ld, ld, kt, lp, dh, scale, s + (size_t)r * lp, j);
                if (j < lp) qk_1x1(qi + (size_t)r * ld, ld, kt, lp, dh, scale, s + (size_t)r * lp, j);
            }
        }
        for (int r = 0; r < rows; r++) ce_softmax_rows_f32(s + (size_t)r * lp, 1, len);
        int d0 = 0;
        for (; d0 + 32 <= dh; d0 += 32) {
            int r = 0;
            for (; r + 2 <= rows; r += 2) pv_2x4(s + (size_t)r * lp, lp, v + d0, ld, len, oi + (size_t)r * ldOut + d0, ldOut);
            for (; r < rows; r++) pv_1x4(s + (size_t)r * lp, lp, v + d0, ld, len, oi + (size_t)r * ldOut + d0, ldOut);
        }
        for (; d0 + 8 <= dh; d0 += 8) {
            if (rows == 4) { pv_4x1(s, lp, v + d0, ld, len, oi + d0, ldOut); continue; }
            for (int r = 0; r < rows; r++) pv_1x1(s + (size_t)r * lp, lp, v + d0, ld, len, oi + (size_t)r * ldOut + d0, ldOut);
        }
    }
}
#endif

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f,avx2,fma")))

/* e^x for 16 lanes: x = n·ln2 + r (ln2 in two parts), e^r by exp8's polynomial, 2^n by vscalefps (which also gives 0
   below the float range). */
AVX512 static inline __m512 exp16(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* p[0 ..< len] = softmax(p[0 ..< len]); the row's padding up to a multiple of 16 is left as it is. */
AVX512 static void softmax_row16(float *p, int len) {
    int full = len & ~15;
    __mmask16 tail = (__mmask16)((1u << (len - full)) - 1);
    __m512 vmx = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < full; j += 16) vmx = _mm512_max_ps(vmx, _mm512_loadu_ps(p + j));
    if (tail) vmx = _mm512_mask_max_ps(vmx, tail, vmx, _mm512_maskz_loadu_ps(tail, p + full));
    __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vmx)), vs = _mm512_setzero_ps();
    for (int j = 0; j < full; j += 16) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(p + j), m));
        _mm512_storeu_ps(p + j, e);
        vs = _mm512_add_ps(vs, e);
    }
    if (tail) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, p + full), m));
        _mm512_mask_storeu_ps(p + full, tail, e);
        vs = _mm512_mask_add_ps(vs, tail, vs, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vs));
    for (int j = 0; j < full; j += 16) _mm512_storeu_ps(p + j, _mm512_mul_ps(_mm512_loadu_ps(p + j), inv));
    if (tail) _mm512_mask_storeu_ps(p + full, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, p + full), inv));
}

/* scores[i, j0 .. j0+16·NB) = scale · Σ_d q[i, d] · kt[d, j0 + c], MR query rows at a time (32 zmm registers: 8 × 2
   accumulators, two key vectors, one broadcast). Columns past len read kt's zero padding. */
#define QK16_TILE(MR, NB)                                                                                \
AVX512 static inline void qk16_##MR##x##NB(const float *q, int ld, const float *kt, int lp, int dh, float scale, \
                                             float *s, int j0) {                                         \
    __m512 acc[MR][NB];                                                                                  \
    for (int r = 0; r < MR; r++) for (int b = 0; b < NB; b++) acc[r][b] = _mm512_setzero_ps();           \
    for (int d = 0; d < dh; d++) {                                                                       \
        __m512 k[NB];                                                                                    \
        for (int b = 0; b < NB; b++) k[b] = _mm512_loadu_ps(kt + (size_t)d * lp + j0 + 16 * b);          \
        for (int r = 0; r < MR; r++) {                                                                   \
            __m512 a = _mm512_set1_ps(q[(size_t)r * ld + d]);                                            \
            for (int b = 0; b < NB; b++) acc[r][b] = _mm512_fmadd_ps(a, k[b], acc[r][b]);                \
        }                                                                                                \
    }                                                                                                    \
    __m512 sc = _mm512_set1_ps(scale);                                                                   \
    for (int r = 0; r < MR; r++)                                                                         \
        for (int b = 0; b < NB; b++) _mm512_storeu_ps(s + (size_t)r * lp + j0 + 16 * b, _mm512_mul_ps(acc[r][b], sc)); \
}
QK16_TILE(8, 2)
QK16_TILE(8, 1)
QK16_TILE(1, 2)
QK16_TILE(1, 1)

/* out[i, d0 .. d0+16·NB) = Σ_j p[i, j] · v[j, d0 + c], MR rows at a time. */
#define PV16_TILE(MR, NB)                                                                                \
AVX512 static inline void pv16_##MR##x##NB(const float *p, int lp, const float *v, int ld, int len, float *out, \
                                             int ldOut) {                                                \
    __m512 acc[MR][NB];                                                                                  \
    for (int r = 0; r < MR; r++) for (int b = 0; b < NB; b++) acc[r][b] = _mm512_setzero_ps();           \
    for (int j = 0; j < len; j++) {                                                                      \
        __m512 w[NB];                                                                                    \
        for (int b = 0; b < NB; b++) w[b] = _mm512_loadu_ps(v + (size_t)j * ld + 16 * b);                \
        for (int r = 0; r < MR; r++) {                                                                   \
            __m512 a = _mm512_set1_ps(p[(size_t)r * lp + j]);                                            \
            for (int b = 0; b < NB; b++) acc[r][b] = _mm512_fmadd_ps(a, w[b], acc[r][b]);                \
        }                                                                                                \
    }                                                                                                    \
    for (int r = 0; r < MR; r++)                                                                         \
        for (int b = 0; b < NB; b++) _mm512_storeu_ps(out + (size_t)r * ldOut + 16 * b, acc[r][b]);     \
}
PV16_TILE(8, 2)
PV16_TILE(8, 1)
PV16_TILE(1, 2)
PV16_TILE(1, 1)

/* attention_avx2's plan at 16 lanes for dh a multiple of 16: eight query rows at a time, their scores (8 · lp floats,
   lp = len rounded up to 16) kept in L1 from q·kᵀ through softmax to p·v. */
AVX512 static void attention_avx512(const float *q, const float *k, const float *v, int ld, float *out, int ldOut,
                                    int len, int dh, float scale, float *scratch) {
    int lp = round16(len);
    float *s = scratch, *kt = scratch + (size_t)8 * lp;
    for (int d = 0; d < dh; d++) {
        float *row = kt + (size_t)d * lp;
        for (int j = 0; j < len; j++) row[j] = k[(size_t)j * ld + d];
        for (int j = len; j < lp; j++) row[j] = 0;
    }
    for (int i = 0; i < len; i += 8) {
        int rows = len - i < 8 ? len - i : 8;
        const float *qi = q + (size_t)i * ld;
        float *oi = out + (size_t)i * ldOut;
        int j = 0;
        if (rows == 8) {
            for (; j + 32 <= lp; j += 32) qk16_8x2(qi, ld, kt, lp, dh, scale, s, j);
            if (j < lp) qk16_8x1(qi, ld, kt, lp, dh, scale, s, j);
        } else {
            for (int r = 0; r < rows; r++) {
                for (j = 0; j + 32 <= lp; j += 32) qk16_1x2(qi + (size_t)r * ld, ld, kt, lp, dh, scale, s + (size_t)r * lp, j);
                if (j < lp) qk16_1x1(qi + (size_t)r * ld, ld, kt, lp, dh, scale, s + (size_t)r * lp, j);
            }
        }
        for (int r = 0; r < rows; r++) softmax_row16(s + (size_t)r * lp, len);
        for (int d0 = 0; d0 < dh;) {
            int two = dh - d0 >= 32;
            if (rows == 8) {
                if (two) pv16_8x2(s, lp, v + d0, ld, len, oi + d0, ldOut);
                else pv16_8x1(s, lp, v + d0, ld, len, oi + d0, ldOut);
            } else {
                for (int r = 0; r < rows; r++) {
                    if (two) pv16_1x2(s + (size_t)r * lp, lp, v + d0, ld, len, oi + (size_t)r * ldOut + d0, ldOut);
                    else pv16_1x1(s + (size_t)r * lp, lp, v + d0, ld, len, oi + (size_t)r * ldOut + d0, ldOut);
                }
            }
            d0 += two ? 32 : 16;
        }
    }
}
#endif

#if defined(__aarch64__)
/* ---- NEON (ARM64): attention_avx2's plan at 4 lanes ----
 * scores[i, j0 ..< j0 + 4·NB) = scale · Σ_d q[i, d] · kt[d, j0 + c] for MR query rows; columns past len read kt's zero
 * padding (lp = len rounded up to 8) and land in the row's padding. */
CE_NEON_INLINE void qk_neon(const int MR, const int NB, const float *q, int ld, const float *kt, int lp, int dh, float scale,
                            float *s, int j0) {
    float32x4_t acc[4][4];
    for (int r = 0; r < MR; r++) for (int b = 0; b < NB; b++) acc[r][b] = vdupq_n_f32(0);
    for (int d = 0; d < dh; d++) {
        float32x4_t k[4];
        for (int b = 0; b < NB; b++) k[b] = vld1q_f32(kt + (size_t)d * lp + j0 + 4 * b);
        for (int r = 0; r < MR; r++) {
            float a = q[(size_t)r * ld + d];
            for (int b = 0; b < NB; b++) acc[r][b] = vfmaq_n_f32(acc[r][b], k[b], a);
        }
    }
    for (int r = 0; r < MR; r++)
        for (int b = 0; b < NB; b++) vst1q_f32(s + (size_t)r * lp + j0 + 4 * b, vmulq_n_f32(acc[r][b], scale));
}

/* out[i, d0 ..< d0 + 4·NB) = Σ_j p[i, j] · v[j, d0 + c] for MR rows. */
CE_NEON_INLINE void pv_neon(const int MR, const int NB, const float *p, int lp, const float *v, int ld, int len, float *out, int ldOut) {
    float32x4_t acc[4][4];
    for (int r = 0; r < MR; r++) for (int b = 0; b < NB; b++) acc[r][b] = vdupq_n_f32(0);
    for (int j = 0; j < len; j++) {
        float32x4_t w[4];
        for (int b = 0; b < NB; b++) w[b] = vld1q_f32(v + (size_t)j * ld + 4 * b);
        for (int r = 0; r < MR; r++) {
            float a = p[(size_t)r * lp + j];
            for (int b = 0; b < NB; b++) acc[r][b] = vfmaq_n_f32(acc[r][b], w[b], a);
        }
    }
    for (int r = 0; r < MR; r++)
        for (int b = 0; b < NB; b++) vst1q_f32(out + (size_t)r * ldOut + 4 * b, acc[r][b]);
}

/* One head, dh a multiple of 8: kᵀ once, then four query rows at a time through q·kᵀ, softmax and p·v. */
static void attention_neon(const float *q, const float *k, const float *v, int ld, float *out, int ldOut,
                           int len, int dh, float scale, float *scratch) {
    int lp = round8(len);
    float *s = scratch, *kt = scratch + (size_t)4 * lp;
    for (int d = 0; d < dh; d++) {
        float *row = kt + (size_t)d * lp;
        for (int j = 0; j < len; j++) row[j] = k[(size_t)j * ld + d];
        for (int j = len; j < lp; j++) row[j] = 0;
    }
    for (int i = 0; i < len; i += 4) {
        int rows = len - i < 4 ? len - i : 4;
        const float *qi = q + (size_t)i * ld;
        float *oi = out + (size_t)i * ldOut;
        int j = 0;
        if (rows == 4) {
            for (; j + 16 <= lp; j += 16) qk_neon(4, 4, qi, ld, kt, lp, dh, scale, s, j);
            if (j < lp) qk_neon(4, 2, qi, ld, kt, lp, dh, scale, s, j);
        } else {
            for (int r = 0; r < rows; r++) {
                for (j = 0; j + 16 <= lp; j += 16) qk_neon(1, 4, qi + (size_t)r * ld, ld, kt, lp, dh, scale, s + (size_t)r * lp, j);
                if (j < lp) qk_neon(1, 2, qi + (size_t)r * ld, ld, kt, lp, dh, scale, s + (size_t)r * lp, j);
            }
        }
        for (int r = 0; r < rows; r++) ce_softmax_rows_f32(s + (size_t)r * lp, 1, len);
        int d0 = 0;
        for (; d0 + 16 <= dh; d0 += 16) {
            int r = 0;
            for (; r + 2 <= rows; r += 2) pv_neon(2, 4, s + (size_t)r * lp, lp, v + d0, ld, len, oi + (size_t)r * ldOut + d0, ldOut);
            for (; r < rows; r++) pv_neon(1, 4, s + (size_t)r * lp, lp, v + d0, ld, len, oi + (size_t)r * ldOut + d0, ldOut);
        }
        for (; d0 + 8 <= dh; d0 += 8) {
            if (rows == 4) { pv_neon(4, 2, s, lp, v + d0, ld, len, oi + d0, ldOut); continue; }
            for (int r = 0; r < rows; r++) pv_neon(1, 2, s + (size_t)r * lp, lp, v + d0, ld, len, oi + (size_t)r * ldOut + d0, ldOut);
        }
    }
}
#endif

int ce_attention_head_f32(const float *q, const float *k, const float *v, int ld, float *out, int ldOut,
                          int len, int dh, float scale, float *scratch) {
#if defined(__x86_64__)
    if (ce_fp32_variant() == 1 && attention_cap >= 2 && dh % 16 == 0 && len > 0 && (ce_cpu_features() & CE_CPU_AVX512F)) {
        attention_avx512(q, k, v, ld, out, ldOut, len, dh, scale, scratch);
        return 1;
    }
    if (ce_fp32_variant() == 1 && attention_cap >= 1 && dh % 8 == 0 && len > 0) {
        attention_avx2(q, k, v, ld, out, ldOut, len, dh, scale, scratch);
        return 1;
    }
#elif defined(__aarch64__)
    if (ce_fp32_variant() == 1 && attention_cap >= 1 && dh % 8 == 0 && len > 0) {
        attention_neon(q, k, v, ld, out, ldOut, len, dh, scale, scratch);
        return 1;
    }
#endif
    (void)q; (void)k; (void)v; (void)ld; (void)out; (void)ldOut; (void)len; (void)dh; (void)scale; (void)scratch;
    return 0;
}

/* Local (sliding-window) attention, one head: query i sees keys j with |i - j| <= window. Per query row: the
   scores of its band, the shared softmax kernel, then the weighted sum of the band's values. */
static void window_portable(const float *q, const float *k, const float *v, int ld, float *out, int ldOut, int len, int dh,
                            float scale, int window, float *s) {
    for (int i = 0; i < len; i++) {
        int j0 = i - window < 0 ? 0 : i - window;
        int j1 = i + window > len - 1 ? len - 1 : i + window;
        const float *qi = q + (size_t)i * ld;
        for (int j = j0; j <= j1; j++) {
            const float *kj = k + (size_t)j * ld;
            float acc = 0;
            for (int d = 0; d < dh; d++) acc += qi[d] * kj[d];
            s[j - j0] = acc * scale;
        }
        ce_softmax_rows_f32(s, 1, j1 - j0 + 1);
        float *o = out + (size_t)i * ldOut;
        for (int d = 0; d < dh; d++) o[d] = 0;
        for (int j = j0; j <= j1; j++) {
            const float *vj = v + (size_t)j * ld;
            float p = s[j - j0];
            for (int d = 0; d < dh; d++) o[d] += p * vj[d];
        }
    }
}

#if defined(__x86_64__)
/* The same with 8-wide FMA over the head dimension (dh a multiple of 8). */
AVX2 static void window_avx2(const float *q, const float *k, const float *v, int ld, float *out, int ldOut, int len, int dh,
                             float scale, int window, float *s) {
    for (int i = 0; i < len; i++) {
        int j0 = i - window < 0 ? 0 : i - window;
        int j1 = i + window > len - 1 ? len - 1 : i + window;
        const float *qi = q + (size_t)i * ld;
        for (int j = j0; j <= j1; j++) {
            const float *kj = k + (size_t)j * ld;
            __m256 acc = _mm256_setzero_ps();
            for (int d = 0; d < dh; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(qi + d), _mm256_loadu_ps(kj + d), acc);
            __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
            h = _mm_add_ps(h, _mm_movehl_ps(h, h));
            h = _mm_add_ss(h, _mm_movehdup_ps(h));
            s[j - j0] = _mm_cvtss_f32(h) * scale;
        }
        ce_softmax_rows_f32(s, 1, j1 - j0 + 1);
        float *o = out + (size_t)i * ldOut;
        for (int d = 0; d < dh; d += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (int j = j0; j <= j1; j++) acc = _mm256_fmadd_ps(_mm256_set1_ps(s[j - j0]), _mm256_loadu_ps(v + (size_t)j * ld + d), acc);
            _mm256_storeu_ps(o + d, acc);
        }
    }
}
#endif

#if defined(__aarch64__)
/* The same with 4-wide FMA over the head dimension (dh a multiple of 4). */
static void window_neon(const float *q, const float *k, const float *v, int ld, float *out, int ldOut, int len, int dh,
                        float scale, int window, float *s) {
    for (int i = 0; i < len; i++) {
        int j0 = i - window < 0 ? 0 : i - window;
        int j1 = i + window > len - 1 ? len - 1 : i + window;
        const float *qi = q + (size_t)i * ld;
        for (int j = j0; j <= j1; j++) {
            const float *kj = k + (size_t)j * ld;
            float32x4_t acc = vdupq_n_f32(0);
            for (int d = 0; d < dh; d += 4) acc = vfmaq_f32(acc, vld1q_f32(qi + d), vld1q_f32(kj + d));
            s[j - j0] = vaddvq_f32(acc) * scale;
        }
        ce_softmax_rows_f32(s, 1, j1 - j0 + 1);
        float *o = out + (size_t)i * ldOut;
        for (int d = 0; d < dh; d += 4) {
            float32x4_t acc = vdupq_n_f32(0);
            for (int j = j0; j <= j1; j++) acc = vfmaq_n_f32(acc, vld1q_f32(v + (size_t)j * ld + d), s[j - j0]);
            vst1q_f32(o + d, acc);
        }
    }
}
#endif

void ce_attention_window_f32(const float *q, const float *k, const float *v, int ld, float *out, int ldOut, int len, int dh,
                             float scale, int window, float *scratch) {
    if (len <= 0) return;
#if defined(__x86_64__)
    if (ce_fp32_variant() == 1 && dh % 8 == 0) { window_avx2(q, k, v, ld, out, ldOut, len, dh, scale, window, scratch); return; }
#elif defined(__aarch64__)
    if (ce_fp32_variant() == 1 && dh % 4 == 0) { window_neon(q, k, v, ld, out, ldOut, len, dh, scale, window, scratch); return; }
#endif
    window_portable(q, k, v, ld, out, ldOut, len, dh, scale, window, scratch);
}
