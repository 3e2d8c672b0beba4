#include "cekernels.h"
#include "neon_common.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#if defined(__linux__)
#include <sys/auxv.h>
#endif
/* Linux's arm64 hwcap bits (asm/hwcap.h), for C libraries whose headers predate them. */
#define CE_HWCAP_ASIMD (1UL << 1)
#define CE_HWCAP_ASIMDDP (1UL << 20)
#define CE_HWCAP2_I8MM (1UL << 13)
#endif

/* The probe runs once: cpuid traps to the hypervisor on virtual machines (a profile of an int8 pass had 5 % of
 * its time here when the attention kernel asked per head). Racing first calls compute the same value. */
static int cpu_features_probe(void);
int ce_cpu_features(void) {
    static volatile int cached = -1;
    int f = cached;
    if (f < 0) { f = cpu_features_probe(); cached = f; }
    return f;
}

static int cpu_features_probe(void) {
    int f = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) f |= CE_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) f |= CE_CPU_FMA;
    unsigned int eax, ebx, ecx, edx;
    __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
    if (ecx & (1u << 29)) f |= CE_CPU_F16C;
    /* AVX-512 only when the OS saves the opmask and zmm state too: XCR0 bits 1, 2 (SSE, AVX) and 5, 6, 7
     * (opmask, ZMM_Hi256, Hi16_ZMM), read with xgetbv when CPUID.1:ECX.OSXSAVE[27] says it may be. */
    int zmm_state = 0;
    if (ecx & (1u << 27)) {
        unsigned int lo, hi;
        __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        zmm_state = (lo & 0xE6u) == 0xE6u;
    }
    unsigned int a7, b7, c7, d7;
    __asm__("cpuid" : "=a"(a7), "=b"(b7), "=c"(c7), "=d"(d7) : "a"(0), "c"(0));
    if (a7 >= 7 && (f & CE_CPU_AVX2)) {
        __asm__("cpuid" : "=a"(a7), "=b"(b7), "=c"(c7), "=d"(d7) : "a"(7), "c"(1));
        if (a7 & (1u << 4)) f |= CE_CPU_AVXVNNI;
    }
    if (zmm_state) {
        if (__builtin_cpu_supports("avx512vl")) f |= CE_CPU_AVX512VL;
        if (__builtin_cpu_supports("avx512f")) f |= CE_CPU_AVX512F;
        if (__builtin_cpu_supports("avx512bw")) f |= CE_CPU_AVX512BW;
        if (__builtin_cpu_supports("avx512vnni")) f |= CE_CPU_AVX512VNNI;
        if (__builtin_cpu_supports("avx512bf16")) f |= CE_CPU_AVX512BF16;
    }
#elif defined(__aarch64__) && defined(__linux__)
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    if (hw & CE_HWCAP_ASIMD) f |= CE_CPU_NEON;
    if ((hw & CE_HWCAP_ASIMD) && (hw & CE_HWCAP_ASIMDDP)) f |= CE_CPU_DOTPROD;
    if ((hw & CE_HWCAP_ASIMD) && (hw2 & CE_HWCAP2_I8MM)) f |= CE_CPU_I8MM;
#elif defined(__aarch64__)
    f |= CE_CPU_NEON; /* Advanced SIMD is part of every AArch64 ABI; dotprod and i8mm are probed on Linux only */
#endif
    return f;
}

void ce_qgemm_s8_reference(const int8_t *a, const int8_t *w, int32_t *c, int m, int n, int k) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            int32_t acc = 0;
            for (int t = 0; t < k; t++) acc += (int32_t)a[(size_t)i * k + t] * (int32_t)w[(size_t)j * k + t];
            c[(size_t)i * n + j] = acc;
        }
}

#if defined(__x86_64__)
__attribute__((target("avx2")))
static inline int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/// 16 int8 at p, sign-extended to 16 x int16.
__attribute__((target("avx2")))
static inline __m256i load16(const int8_t *p) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
}

/// Dot products of 16 int8 lanes, s8 x s8 -> s32 exactly: sign-extend to s16, then vpmaddwd
/// (pairs of s16 products summed into s32; no saturation, unlike vpmaddubsw).
__attribute__((target("avx2")))
void ce_qgemm_s8_avx2(const int8_t *a, const int8_t *w, int32_t *c, int m, int n, int k) {
    const int k16 = k & ~15;
    int i = 0;
    for (; i + 2 <= m; i += 2) {
        const int8_t *a0 = a + (size_t)i * k, *a1 = a0 + k;
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            const int8_t *w0 = w + (size_t)j * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
            __m256i s00 = _mm256_setzero_si256(), s01 = s00, s02 = s00, s03 = s00;
            __m256i s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            for (int t = 0; t < k16; t += 16) {
                __m256i x0 = load16(a0 + t), x1 = load16(a1 + t);
                __m256i y0 = load16(w0 + t), y1 = load16(w1 + t), y2 = load16(w2 + t), y3 = load16(w3 + t);
                s00 = _mm256_add_epi32(s00, _mm256_madd_epi16(x0, y0));
                s01 = _mm256_add_epi32(s01, _mm256_madd_epi16(x0, y1));
                s02 = _mm256_add_epi32(s02, _mm256_madd_epi16(x0, y2));
                s03 = _mm256_add_epi32(s03, _mm256_madd_epi16(x0, y3));
                s10 = _mm256_add_epi32(s10, _mm256_madd_epi16(x1, y0));
                s11 = _mm256_add_epi32(s11, _mm256_madd_epi16(x1, y1));
                s12 = _mm256_add_epi32(s12, _mm256_madd_epi16(x1, y2));
                s13 = _mm256_add_epi32(s13, _mm256_madd_epi16(x1, y3));
            }
            int32_t r[8] = {hsum_epi32(s00), hsum_epi32(s01), hsum_epi32(s02), hsum_epi32(s03),
                            hsum_epi32(s10), hsum_epi32(s11), hsum_epi32(s12), hsum_epi32(s13)};
            for (int t = k16; t < k; t++) {
                int32_t x0 = a0[t], x1 = a1[t];
                r[0] += x0 * w0[t]; r[1] += x0 * w1[t]; r[2] += x0 * w2[t]; r[3] += x0 * w3[t];
                r[4] += x1 * w0[t]; r[5] += x1 * w1[t]; r[6] += x1 * w2[t]; r[7] += x1 * w3[t];
            }
            memcpy(c + (size_t)i * n + j, r, 4 * sizeof(int32_t));
            memcpy(c + (size_t)(i + 1) * n + j, r + 4, 4 * sizeof(int32_t));
        }
        for (; j < n; j++) {
            ce_qgemm_s8_reference(a0, w + (size_t)j * k, c + (size_t)i * n + j, 1, 1, k);
            ce_qgemm_s8_reference(a1, w + (size_t)j * k, c + (size_t)(i + 1) * n + j, 1, 1, k);
        }
    }
    for (; i < m; i++) {
        const int8_t *a0 = a + (size_t)i * k;
        for (int j = 0; j < n; j++) {
            const int8_t *w0 = w + (size_t)j * k;
            __m256i s = _mm256_setzero_si256();
            for (int t = 0; t < k16; t += 16) s = _mm256_add_epi32(s, _mm256_madd_epi16(load16(a0 + t), load16(w0 + t)));
            int32_t r = hsum_epi32(s);
            for (int t = k16; t < k; t++) r += (int32_t)a0[t] * w0[t];
            c[(size_t)i * n + j] = r;
        }
    }
}
#else
void ce_qgemm_s8_avx2(const int8_t *a, const int8_t *w, int32_t *c, int m, int n, int k) {
    ce_qgemm_s8_reference(a, w, c, m, n, k);
}
#endif

int ce_qgemm_s8_variant(void) {
    static int v = -1;
    if (v < 0) v = (ce_cpu_features() & CE_CPU_AVX2) ? 1 : 0;
    return v;
}

void ce_qgemm_s8(const int8_t *a, const int8_t *w, int32_t *c, int m, int n, int k) {
    if (ce_qgemm_s8_variant() == 1) ce_qgemm_s8_avx2(a, w, c, m, n, k);
    else ce_qgemm_s8_reference(a, w, c, m, n, k);
}

static void quantize_rows_portable(const float *x, int8_t *q, float *scales, int rows, int k) {
    for (int r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * k;
        float mx = 0;
        for (int t = 0; t < k; t++) { float v = fabsf(p[t]); if (v > mx) mx = v; }
        float scale = mx > 0 ? mx / 127.0f : 1.0f;
        float inv = 1.0f / scale;
        for (int t = 0; t < k; t++) {
            float v = rintf(p[t] * inv); /* round half to even in the default rounding mode */
            if (v > 127) v = 127;
            if (v < -127) v = -127;
            q[(size_t)r * k + t] = (int8_t)v;
        }
        scales[r] = scale;
    }
}

#if defined(__x86_64__)
/// The same bytes as the portable loop: one multiply by the same inverse, round-half-even, clamp.
__attribute__((target("avx2")))
static void quantize_rows_avx2(const float *x, int8_t *q, float *scales, int rows, int k) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    for (int r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * k;
        int8_t *o = q + (size_t)r * k;
        __m256 vm = _mm256_setzero_ps();
        int t = 0;
        for (; t + 8 <= k; t += 8) vm = _mm256_max_ps(vm, _mm256_and_ps(_mm256_loadu_ps(p + t), absmask));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vm), _mm256_extractf128_ps(vm, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float mx = _mm_cvtss_f32(m4);
        for (; t < k; t++) { float v = fabsf(p[t]); if (v > mx) mx = v; }
        float scale = mx > 0 ? mx / 127.0f : 1.0f;
        float inv = 1.0f / scale;
        const __m256 vi = _mm256_set1_ps(inv), lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
        for (t = 0; t + 16 <= k; t += 16) {
            __m256 a = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(p + t), vi), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            __m256 b = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(p + t + 8), vi), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            a = _mm256_min_ps(_mm256_max_ps(a, lo), hi);
            b = _mm256_min_ps(_mm256_max_ps(b, lo), hi);
            __m256i w = _mm256_packs_epi32(_mm256_cvtps_epi32(a), _mm256_cvtps_epi32(b)); /* lanes 0-3 a, 0-3 b, 4-7 a, 4-7 b */
            w = _mm256_permute4x64_epi64(w, 0xD8);
            __m128i bytes = _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
            _mm_storeu_si128((__m128i *)(o + t), bytes);
        }
        for (; t < k; t++) {
            float v = rintf(p[t] * inv);
            if (v > 127) v = 127;
            if (v < -127) v = -127;
            o[t] = (int8_t)v;
        }
        scales[r] = scale;
    }
}
#endif

#if defined(__aarch64__)
/// The same bytes as the portable loop on NEON: the same max, inverse, round-half-even and clamp.
static void quantize_rows_neon(const float *x, int8_t *q, float *scales, int rows, int k) {
    for (int r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * k;
        int8_t *o = q + (size_t)r * k;
        float mx = ce_neon_absmax(p, NULL, k);
        float scale = mx > 0 ? mx / 127.0f : 1.0f, inv = 1.0f / scale;
        int t = 0;
        for (; t + 16 <= k; t += 16) vst1q_s8(o + t, ce_neon_codes16_s8(p + t, NULL, vdupq_n_f32(inv)));
        for (; t < k; t++) {
            float v = rintf(p[t] * inv);
            o[t] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
        scales[r] = scale;
    }
}
#endif

void ce_quantize_rows_s8_reference(const float *x, int8_t *q, float *scales, int rows, int k) {
    quantize_rows_portable(x, q, scales, rows, k);
}

/* Smoothed rows: y[r, t] = x[r, t] * smooth[t] (one fp32 multiply), then the rule above on y. Each
   worker quantizes its rows through a small stack buffer, so no extra scratch is needed. */
#define SMOOTH_CHUNK 4096
void ce_quantize_rows_s8_smooth_reference(const float *x, const float *smooth, int8_t *q, float *scales, int rows, int k) {
    float y[SMOOTH_CHUNK];
    for (int r = 0; r < rows; r++) {
        if (k > SMOOTH_CHUNK) { /* wider than any supported model's intermediate size: compute in place per value */
            const float *p = x + (size_t)r * k;
            float mx = 0;
            for (int t = 0; t < k; t++) { float v = fabsf(p[t] * smooth[t]); if (v > mx) mx = v; }
            float scale = mx > 0 ? mx / 127.0f : 1.0f, inv = 1.0f / scale;
            for (int t = 0; t < k; t++) {
                float v = rintf((p[t] * smooth[t]) * inv);
                q[(size_t)r * k + t] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
            }
            scales[r] = scale;
            continue;
        }
        for (int t = 0; t < k; t++) y[t] = x[(size_t)r * k + t] * smooth[t];
        quantize_rows_portable(y, q + (size_t)r * k, scales + r, 1, k);
    }
}

void ce_quantize_rows_s8_smooth(const float *x, const float *smooth, int8_t *q, float *scales, int rows, int k) {
#if defined(__x86_64__)
    if (ce_fp32_variant() == 1 && k <= SMOOTH_CHUNK) {
        float y[SMOOTH_CHUNK] __attribute__((aligned(32)));
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < k; t++) y[t] = x[(size_t)r * k + t] * smooth[t];
            quantize_rows_avx2(y, q + (size_t)r * k, scales + r, 1, k);
        }
        return;
    }
#elif defined(__aarch64__)
    if (ce_fp32_variant() == 1 && k <= SMOOTH_CHUNK) {
        float y[SMOOTH_CHUNK];
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < k; t++) y[t] = x[(size_t)r * k + t] * smooth[t];
            quantize_rows_neon(y, q + (size_t)r * k, scales + r, 1, k);
        }
        return;
    }
#endif
    ce_quantize_rows_s8_smooth_reference(x, smooth, q, scales, rows, k);
}

void ce_quantize_rows_s8(const float *x, int8_t *q, float *scales, int rows, int k) {
#if defined(__x86_64__)
    if (ce_fp32_variant() == 1) { quantize_rows_avx2(x, q, scales, rows, k); return; }
#elif defined(__aarch64__)
    if (ce_fp32_variant() == 1) { quantize_rows_neon(x, q, scales, rows, k); return; }
#endif
    quantize_rows_portable(x, q, scales, rows, k);
}

#if defined(__x86_64__)
__attribute__((target("avx,f16c")))
static void f16_to_f32_f16c(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
}
#endif

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
    if (exp == 0) {
        float v = ldexpf((float)mant, -24);
        return sign ? -v : v;
    }
    if (exp == 31) bits = sign | 0x7F800000u | (mant << 13);
    else bits = sign | ((exp + 112) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

#if defined(__aarch64__)
/* fcvtl widens exactly (subnormals included); a signalling NaN comes back quiet, as F16C's does. */
static void f16_to_f32_neon(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(src + i))));
    for (; i < n; i++) dst[i] = half_to_float(src[i]);
}
#endif

void ce_f16_to_f32(const uint16_t *src, float *dst, size_t n) {
#if defined(__x86_64__)
    if (ce_cpu_features() & CE_CPU_F16C) { f16_to_f32_f16c(src, dst, n); return; }
#elif defined(__aarch64__)
    if (ce_fp32_variant() == 1) { f16_to_f32_neon(src, dst, n); return; }
#endif
    for (size_t i = 0; i < n; i++) dst[i] = half_to_float(src[i]);
}
