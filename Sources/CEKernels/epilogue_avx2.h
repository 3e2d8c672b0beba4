#ifndef CEKERNELS_EPILOGUE_AVX2_H
#define CEKERNELS_EPILOGUE_AVX2_H
/* The AVX2 fp32 epilogues of the int8 GEMMs (qgemm_packed.c, qgemm_u8s8.c), private to CEKernels. Each finishes one
 * row of a 16-column panel in the operation order of its scalar twin, one fp32 rounding per operation (no FMA), so
 * the results equal the twin bit for bit. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <string.h>

/* max |x[t]·smooth[t]| (|x[t]| without smooth) over a row of k, the row quantizers' scale source (the reference's
 * products and max; NaN-free input assumed as in the twins). */
__attribute__((target("avx2,fma"))) static inline float ce_avx2_absmax(const float *p, const float *smooth, int k) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    __m256 vm = _mm256_setzero_ps();
    int t = 0;
    for (; t + 8 <= k; t += 8) {
        __m256 v = _mm256_loadu_ps(p + t);
        if (smooth) v = _mm256_mul_ps(v, _mm256_loadu_ps(smooth + t));
        vm = _mm256_max_ps(vm, _mm256_and_ps(v, absmask));
    }
    float m8[8];
    _mm256_storeu_ps(m8, vm);
    float mx = 0;
    for (int i = 0; i < 8; i++) if (m8[i] > mx) mx = m8[i];
    for (; t < k; t++) { float v = fabsf(smooth ? p[t] * smooth[t] : p[t]); if (v > mx) mx = v; }
    return mx;
}

/* 16 codes of p[0 ..< 16] (· smooth): round-half-even of x·inv, clamped to [lo, hi], as int16 in order. */
__attribute__((target("avx2,fma"))) static inline __m256i ce_avx2_codes16(const float *p, const float *smooth, __m256 vi,
                                                                          __m256 lo, __m256 hi) {
    __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    if (smooth) { a = _mm256_mul_ps(a, _mm256_loadu_ps(smooth)); b = _mm256_mul_ps(b, _mm256_loadu_ps(smooth + 8)); }
    a = _mm256_round_ps(_mm256_mul_ps(a, vi), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    b = _mm256_round_ps(_mm256_mul_ps(b, vi), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    a = _mm256_min_ps(_mm256_max_ps(a, lo), hi);
    b = _mm256_min_ps(_mm256_max_ps(b, lo), hi);
    __m256i w = _mm256_packs_epi32(_mm256_cvtps_epi32(a), _mm256_cvtps_epi32(b)); /* lanes 0-3 a, 0-3 b, 4-7 a, 4-7 b */
    return _mm256_permute4x64_epi64(w, 0xD8);
}

/* y[0 ..< cols] (cols ≤ 16) of a row's 16 results, a = columns 0-7, b = 8-15. */
__attribute__((target("avx2,fma"))) static inline void ce_avx2_put16(__m256 a, __m256 b, float *y, int cols) {
    if (cols == 16) { _mm256_storeu_ps(y, a); _mm256_storeu_ps(y + 8, b); return; }
    float tmp[16];
    _mm256_storeu_ps(tmp, a);
    _mm256_storeu_ps(tmp + 8, b);
    memcpy(y, tmp, (size_t)cols * sizeof(float));
}

/* One row's 16 exact int32 sums lo, hi: ((float)acc·sx)·sw (+ bias), ce_dequant_f32's order. sw, bias: 16 values. */
__attribute__((target("avx2,fma"))) static inline void ce_avx2_dequant16(__m256i lo, __m256i hi, float sx, const float *sw,
                                                                         const float *bias, float *y, int cols) {
    __m256 s = _mm256_set1_ps(sx);
    __m256 a = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(lo), s), _mm256_loadu_ps(sw));
    __m256 b = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(hi), s), _mm256_loadu_ps(sw + 8));
    if (bias) { a = _mm256_add_ps(a, _mm256_loadu_ps(bias)); b = _mm256_add_ps(b, _mm256_loadu_ps(bias + 8)); }
    ce_avx2_put16(a, b, y, cols);
}

/* One row's 16 fp32 group sums s0, s1 (S = Σ_g (float)acc_g·sw[j, g]): S·sx (+ bias), the grouped kernels' order. */
__attribute__((target("avx2,fma"))) static inline void ce_avx2_scale16(__m256 s0, __m256 s1, float sx, const float *bias,
                                                                       float *y, int cols) {
    __m256 x = _mm256_set1_ps(sx);
    __m256 a = _mm256_mul_ps(s0, x), b = _mm256_mul_ps(s1, x);
    if (bias) { a = _mm256_add_ps(a, _mm256_loadu_ps(bias)); b = _mm256_add_ps(b, _mm256_loadu_ps(bias + 8)); }
    ce_avx2_put16(a, b, y, cols);
}
#endif
#endif
