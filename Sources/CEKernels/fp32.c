#include "cekernels.h"
#include "neon_common.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static int force_portable = 0;
void ce_force_portable(int on) { force_portable = on; }

int ce_fp32_variant(void) {
    static int v = -1;
    if (v < 0) {
        int f = ce_cpu_features();
#if defined(__aarch64__)
        v = (f & CE_CPU_NEON) ? 1 : 0;
#else
        v = ((f & CE_CPU_AVX2) && (f & CE_CPU_FMA)) ? 1 : 0;
#endif
    }
    return force_portable ? 0 : v;
}

static int packed_cap = 2;
void ce_limit_packed_variant(int max) { packed_cap = max < 0 ? 2 : max; }

int ce_qgemm_packed_variant(void) {
    static int v = -1;
    if (v < 0) {
        int f = ce_cpu_features(), vnni = CE_CPU_AVX512F | CE_CPU_AVX512BW | CE_CPU_AVX512VNNI;
#if defined(__aarch64__)
        vnni = CE_CPU_DOTPROD; /* level 2 on ARM64: sdot on the int16 inputs' high and low bytes */
#endif
        v = (f & vnni) == vnni && ce_fp32_variant() == 1 ? 2 : ce_fp32_variant();
    }
    if (force_portable) return 0;
    return v < packed_cap ? v : packed_cap;
}

/* ---------------------------------------------------------------- portable */

static void gelu_portable(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752440f));
}

static void softmax_portable(float *x, int rows, int n) {
    for (int r = 0; r < rows; r++) {
        float *p = x + (size_t)r * n, mx = -INFINITY, sum = 0;
        for (int i = 0; i < n; i++) if (p[i] > mx) mx = p[i];
        for (int i = 0; i < n; i++) { p[i] = expf(p[i] - mx); sum += p[i]; }
        float inv = 1.0f / sum;
        for (int i = 0; i < n; i++) p[i] *= inv;
    }
}

static void layernorm_portable(float *x, const float *add, int rows, int n, const float *g, const float *b, float eps) {
    for (int r = 0; r < rows; r++) {
        float *p = x + (size_t)r * n;
        if (add) for (int i = 0; i < n; i++) p[i] += add[(size_t)r * n + i];
        float sum = 0;
        for (int i = 0; i < n; i++) sum += p[i];
        float mean = sum / n, sq = 0;
        for (int i = 0; i < n; i++) { float d = p[i] - mean; sq += d * d; }
        float inv = 1.0f / sqrtf(sq / n + eps);
        for (int i = 0; i < n; i++) p[i] = (p[i] - mean) * inv * g[i] + b[i];
    }
}

static void dequant_portable(const int32_t *acc, const float *sx, const float *sw, const float *bias, float *y, int m, int n) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float v = (float)acc[(size_t)i * n + j] * sx[i] * sw[j];
            y[(size_t)i * n + j] = bias ? v + bias[j] : v;
        }
}

/* ---------------------------------------------------------------- AVX2 + FMA */
#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma")))

/// e^x for 8 lanes: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for exactness), e^r by a degree-6
/// Taylor–minimax polynomial, 2^n through the exponent bits. Inputs below −87.3 give 0, above 88.7 inf.
AVX2 static inline __m256 exp8(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.7228f), lo = _mm256_set1_ps(-87.3365f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(under, y);
}

/// erf for 8 lanes: odd rational P(x²)·x / Q(x²) on x clamped to [-4, 4].
AVX2 static inline __m256 erf8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-4.0f)), _mm256_set1_ps(4.0f));
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-2.72614225801306e-10f);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.77068142495902e-08f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
    p = _mm256_mul_ps(p, x);
    __m256 q = _mm256_set1_ps(-1.45660718464996e-05f);
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-2.13374055278905e-04f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
    return _mm256_div_ps(p, q);
}

AVX2 static float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static void gelu_avx2(float *x, size_t n) {
    const __m256 c = _mm256_set1_ps(0.70710678118654752440f), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, erf8(_mm256_mul_ps(v, c)))));
    }
    if (i < n) {
        float tmp[8] = {0};
        memcpy(tmp, x + i, (n - i) * sizeof(float));
        __m256 v = _mm256_loadu_ps(tmp);
        _mm256_storeu_ps(tmp, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, erf8(_mm256_mul_ps(v, c)))));
        memcpy(x + i, tmp, (n - i) * sizeof(float));
    }
}

AVX2 static void softmax_avx2(float *x, int rows, int n) {
    for (int r = 0; r < rows; r++) {
        float *p = x + (size_t)r * n;
        int i = 0;
        __m256 vmx = _mm256_set1_ps(-INFINITY);
        for (; i + 8 <= n; i += 8) vmx = _mm256_max_ps(vmx, _mm256_loadu_ps(p + i));
        float mx = hmax8(vmx);
        for (; i < n; i++) if (p[i] > mx) mx = p[i];
        __m256 m = _mm256_set1_ps(mx), vs = _mm256_setzero_ps();
        float sum = 0;
        for (i = 0; i + 8 <= n; i += 8) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(p + i), m));
            _mm256_storeu_ps(p + i, e);
            vs = _mm256_add_ps(vs, e);
        }
        if (i < n) {
            float tmp[8];
            for (int t = 0; t < 8; t++) tmp[t] = i + t < n ? p[i + t] - mx : -INFINITY;
            _mm256_storeu_ps(tmp, exp8(_mm256_loadu_ps(tmp)));
            for (int t = 0; i + t < n; t++) { p[i + t] = tmp[t]; sum += tmp[t]; }
        }
        sum += hsum8(vs);
        __m256 inv = _mm256_set1_ps(1.0f / sum);
        for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(p + i, _mm256_mul_ps(_mm256_loadu_ps(p + i), inv));
        for (; i < n; i++) p[i] *= 1.0f / sum;
    }
}

AVX2 static void layernorm_avx2(float *x, const float *add, int rows, int n, const float *g, const float *b, float eps) {
    for (int r = 0; r < rows; r++) {
        float *p = x + (size_t)r * n;
        const float *a = add ? add + (size_t)r * n : NULL;
        __m256 vs = _mm256_setzero_ps();
        float sum = 0;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256 v = _mm256_loadu_ps(p + i);
            if (a) { v = _mm256_add_ps(v, _mm256_loadu_ps(a + i)); _mm256_storeu_ps(p + i, v); }
            vs = _mm256_add_ps(vs, v);
        }
        for (; i < n; i++) { if (a) p[i] += a[i]; sum += p[i]; }
        sum += hsum8(vs);
        float mean = sum / n;
        __m256 vm = _mm256_set1_ps(mean), vq = _mm256_setzero_ps();
        float sq = 0;
        for (i = 0; i + 8 <= n; i += 8) { __m256 d = _mm256_sub_ps(_mm256_loadu_ps(p + i), vm); vq = _mm256_fmadd_ps(d, d, vq); }
        for (; i < n; i++) { float d = p[i] - mean; sq += d * d; }
        sq += hsum8(vq);
        float inv = 1.0f / sqrtf(sq / n + eps);
        __m256 vi = _mm256_set1_ps(inv);
        for (i = 0; i + 8 <= n; i += 8) {
            __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p + i), vm), vi);
            _mm256_storeu_ps(p + i, _mm256_fmadd_ps(d, _mm256_loadu_ps(g + i), _mm256_loadu_ps(b + i)));
        }
        for (; i < n; i++) p[i] = (p[i] - mean) * inv * g[i] + b[i];
    }
}

AVX2 static void dequant_avx2(const int32_t *acc, const float *sx, const float *sw, const float *bias, float *y, int m, int n) {
    for (int i = 0; i < m; i++) {
        const int32_t *a = acc + (size_t)i * n;
        float *o = y + (size_t)i * n;
        __m256 s = _mm256_set1_ps(sx[i]);
        int j = 0;
        for (; j + 8 <= n; j += 8) {
            __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(a + j))), s), _mm256_loadu_ps(sw + j));
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
            _mm256_storeu_ps(o + j, v);
        }
        for (; j < n; j++) { float v = (float)a[j] * sx[i] * sw[j]; o[j] = bias ? v + bias[j] : v; }
    }
}
#endif


/* ---------------------------------------------------------------- ARM64 NEON */
#if defined(__aarch64__)
/// e^x for 4 lanes, exp8's range reduction and polynomial (the same constants, fused multiply-adds as there).
static inline float32x4_t exp4(float32x4_t x) {
    const float32x4_t hi = vdupq_n_f32(88.7228f), lo = vdupq_n_f32(-87.3365f);
    uint32x4_t under = vcltq_f32(x, lo);
    x = vminq_f32(vmaxq_f32(x, lo), hi);
    float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
    int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    float32x4_t y = vmulq_f32(p, vreinterpretq_f32_s32(e));
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(y), under));
}

/// erf for 4 lanes: erf8's odd rational P(x²)·x / Q(x²) on x clamped to [-4, 4].
static inline float32x4_t erf4(float32x4_t x) {
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-4.0f)), vdupq_n_f32(4.0f));
    float32x4_t x2 = vmulq_f32(x, x);
    static const float pc[] = {2.77068142495902e-08f, -2.10102402082508e-06f, -5.69250639462346e-05f,
                               -7.34990630326855e-04f, -2.95459980854025e-03f, -1.60960333262415e-02f};
    static const float qc[] = {-2.13374055278905e-04f, -1.68282697438203e-03f, -7.37332916720468e-03f, -1.42647390514189e-02f};
    float32x4_t p = vdupq_n_f32(-2.72614225801306e-10f), q = vdupq_n_f32(-1.45660718464996e-05f);
    for (int i = 0; i < 6; i++) p = vfmaq_f32(vdupq_n_f32(pc[i]), p, x2);
    for (int i = 0; i < 4; i++) q = vfmaq_f32(vdupq_n_f32(qc[i]), q, x2);
    return vdivq_f32(vmulq_f32(p, x), q);
}

static inline float32x4_t gelu4(float32x4_t v) {
    float32x4_t e = erf4(vmulq_f32(v, vdupq_n_f32(0.70710678118654752440f)));
    return vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), v), vaddq_f32(vdupq_n_f32(1.0f), e));
}

static void gelu_neon(float *x, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(x + i, gelu4(vld1q_f32(x + i)));
    if (i < n) {
        float tmp[4] = {0};
        memcpy(tmp, x + i, (n - i) * sizeof(float));
        vst1q_f32(tmp, gelu4(vld1q_f32(tmp)));
        memcpy(x + i, tmp, (n - i) * sizeof(float));
    }
}

static void softmax_neon(float *x, int rows, int n) {
    for (int r = 0; r < rows; r++) {
        float *p = x + (size_t)r * n;
        int i = 0;
        float32x4_t vmx = vdupq_n_f32(-INFINITY);
        for (; i + 4 <= n; i += 4) vmx = vmaxq_f32(vmx, vld1q_f32(p + i));
        float mx = vmaxvq_f32(vmx);
        for (; i < n; i++) if (p[i] > mx) mx = p[i];
        float32x4_t m = vdupq_n_f32(mx), vs = vdupq_n_f32(0);
        float sum = 0;
        for (i = 0; i + 4 <= n; i += 4) {
            float32x4_t e = exp4(vsubq_f32(vld1q_f32(p + i), m));
            vst1q_f32(p + i, e);
            vs = vaddq_f32(vs, e);
        }
        if (i < n) {
            float tmp[4];
            for (int t = 0; t < 4; t++) tmp[t] = i + t < n ? p[i + t] - mx : -INFINITY;
            vst1q_f32(tmp, exp4(vld1q_f32(tmp)));
            for (int t = 0; i + t < n; t++) { p[i + t] = tmp[t]; sum += tmp[t]; }
        }
        sum += vaddvq_f32(vs);
        float32x4_t inv = vdupq_n_f32(1.0f / sum);
        for (i = 0; i + 4 <= n; i += 4) vst1q_f32(p + i, vmulq_f32(vld1q_f32(p + i), inv));
        for (; i < n; i++) p[i] *= 1.0f / sum;
    }
}

static void layernorm_neon(float *x, const float *add, int rows, int n, const float *g, const float *b, float eps) {
    for (int r = 0; r < rows; r++) {
        float *p = x + (size_t)r * n;
        const float *a = add ? add + (size_t)r * n : NULL;
        float32x4_t vs = vdupq_n_f32(0);
        float sum = 0;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            float32x4_t v = vld1q_f32(p + i);
            if (a) { v = vaddq_f32(v, vld1q_f32(a + i)); vst1q_f32(p + i, v); }
            vs = vaddq_f32(vs, v);
        }
        for (; i < n; i++) { if (a) p[i] += a[i]; sum += p[i]; }
        sum += vaddvq_f32(vs);
        float mean = sum / n, sq = 0;
        float32x4_t vm = vdupq_n_f32(mean), vq = vdupq_n_f32(0);
        for (i = 0; i + 4 <= n; i += 4) { float32x4_t d = vsubq_f32(vld1q_f32(p + i), vm); vq = vfmaq_f32(vq, d, d); }
        for (; i < n; i++) { float d = p[i] - mean; sq += d * d; }
        sq += vaddvq_f32(vq);
        float inv = 1.0f / sqrtf(sq / n + eps);
        float32x4_t vi = vdupq_n_f32(inv);
        for (i = 0; i + 4 <= n; i += 4) {
            float32x4_t d = vmulq_f32(vsubq_f32(vld1q_f32(p + i), vm), vi);
            vst1q_f32(p + i, vfmaq_f32(vld1q_f32(b + i), d, vld1q_f32(g + i)));
        }
        for (; i < n; i++) p[i] = (p[i] - mean) * inv * g[i] + b[i];
    }
}

/* The portable loop's order: ((float)acc·sx)·sw, then + bias, each rounded on its own. */
static void dequant_neon(const int32_t *acc, const float *sx, const float *sw, const float *bias, float *y, int m, int n) {
    for (int i = 0; i < m; i++) {
        const int32_t *a = acc + (size_t)i * n;
        float *o = y + (size_t)i * n;
        float32x4_t s = vdupq_n_f32(sx[i]);
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            float32x4_t v = vmulq_f32(vmulq_f32(vcvtq_f32_s32(vld1q_s32(a + j)), s), vld1q_f32(sw + j));
            if (bias) v = vaddq_f32(v, vld1q_f32(bias + j));
            vst1q_f32(o + j, v);
        }
        for (; j < n; j++) { float v = (float)a[j] * sx[i] * sw[j]; o[j] = bias ? v + bias[j] : v; }
    }
}
#endif

void ce_gelu_f32(float *x, size_t n) {
#if defined(__x86_64__)
    if (ce_fp32_variant() == 1) { gelu_avx2(x, n); return; }
#elif defined(__aarch64__)
    if (ce_fp32_variant() == 1) { gelu_neon(x, n); return; }
#endif
    gelu_portable(x, n);
}

void ce_softmax_rows_f32(float *x, int rows, int n) {
#if defined(__x86_64__)
    if (ce_fp32_variant() == 1) { softmax_avx2(x, rows, n); return; }
#elif defined(__aarch64__)
    if (ce_fp32_variant() == 1) { softmax_neon(x, rows, n); return; }
#endif
    softmax_portable(x, rows, n);
}

void ce_layernorm_f32(float *x, const float *add, int rows, int n, const float *gamma, const float *beta, float eps) {
#if defined(__x86_64__)
    if (ce_fp32_variant() == 1) { layernorm_avx2(x, add, rows, n, gamma, beta, eps); return; }
#elif defined(__aarch64__)
    if (ce_fp32_variant() == 1) { layernorm_neon(x, add, rows, n, gamma, beta, eps); return; }
#endif
    layernorm_portable(x, add, rows, n, gamma, beta, eps);
}

void ce_dequant_f32(const int32_t *acc, const float *sx, const float *sw, const float *bias, float *y, int m, int n) {
#if defined(__x86_64__)
    if (ce_fp32_variant() == 1) { dequant_avx2(acc, sx, sw, bias, y, m, n); return; }
#elif defined(__aarch64__)
    if (ce_fp32_variant() == 1) { dequant_neon(acc, sx, sw, bias, y, m, n); return; }
#endif
    dequant_portable(acc, sx, sw, bias, y, m, n);
}
