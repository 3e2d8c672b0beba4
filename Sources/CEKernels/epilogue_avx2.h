#ifndef CEKERNELS_EPILOGUE_AVX2_H
#define CEKERNELS_EPILOGUE_AVX2_H
/* The AVX2 fp32 epilogues of the int8 GEMMs (qgemm_packed.c, qgemm_u8s8.c), private to CEKernels. Each finishes one
 * row of a 16-column panel in the operation order of its scalar twin, one fp32 rounding per operation (no FMA), so
 * the results equal the twin bit for bit. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

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
