#include "cekernels.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static inline int even(int k) { return (k + 1) & ~1; }

size_t ce_qgemm_packed_size(int n, int k) { return (size_t)((n + 15) / 16) * (size_t)even(k) * 16; }

void ce_qgemm_pack_s8(const int8_t *w, int16_t *packed, int n, int k) {
    int k2 = even(k), panels = (n + 15) / 16;
    for (int p = 0; p < panels; p++) {
        int16_t *dst = packed + (size_t)p * k2 * 16;
        for (int t2 = 0; t2 < k2 / 2; t2++)
            for (int c = 0; c < 16; c++) {
                int j = p * 16 + c;
                for (int h = 0; h < 2; h++) {
                    int t = 2 * t2 + h;
                    dst[(size_t)t2 * 32 + 2 * c + h] = (j < n && t < k) ? w[(size_t)j * k + t] : 0;
                }
            }
    }
}

void ce_widen_rows_s8(const int8_t *q, int16_t *a16, int rows, int k) {
    int k2 = even(k);
    for (int r = 0; r < rows; r++) {
        for (int t = 0; t < k; t++) a16[(size_t)r * k2 + t] = q[(size_t)r * k + t];
        if (k2 > k) a16[(size_t)r * k2 + k] = 0;
    }
}

/* Portable path: unpack into the exact int32 sums, then the shared epilogue. */
static void packed_portable(const int16_t *a16, const int16_t *packed, int m, int n, int k,
                            const float *sx, const float *sw, const float *bias, float *y) {
    int k2 = even(k);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            const int16_t *panel = packed + (size_t)(j / 16) * k2 * 16;
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

/* Epilogue of one row's 16 sums: (float)acc · sx · sw (+ bias), as dequant_avx2 computes it. */
AVX2 static inline void store16(__m256i lo, __m256i hi, float sx, const float *sw, const float *bias, float *y, int cols) {
    __m256 s = _mm256_set1_ps(sx);
    __m256 a = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(lo), s), _mm256_loadu_ps(sw));
    __m256 b = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(hi), s), _mm256_loadu_ps(sw + 8));
    if (bias) { a = _mm256_add_ps(a, _mm256_loadu_ps(bias)); b = _mm256_add_ps(b, _mm256_loadu_ps(bias + 8)); }
    if (cols == 16) { _mm256_storeu_ps(y, a); _mm256_storeu_ps(y + 8, b); return; }
    float tmp[16];
    _mm256_storeu_ps(tmp, a);
    _mm256_storeu_ps(tmp + 8, b);
    memcpy(y, tmp, (size_t)cols * sizeof(float));
}

/* MR rows x 16 columns: per input pair, one broadcast of each row's two int16 and two vpmaddwd. */
#define KERNEL(MR)                                                                                        \
AVX2 static void tile_##MR(const int16_t *a16, int k2, const int16_t *panel, const float *sx, const float *sw, \
                           const float *bias, float *y, int n, int cols) {                                \
    __m256i acc[MR][2];                                                                                  \
    for (int r = 0; r < MR; r++) { acc[r][0] = _mm256_setzero_si256(); acc[r][1] = _mm256_setzero_si256(); } \
    for (int t2 = 0; t2 < k2 / 2; t2++) {                                                                \
        __m256i w0 = _mm256_load_si256((const __m256i *)(panel + (size_t)t2 * 32));                     \
        __m256i w1 = _mm256_load_si256((const __m256i *)(panel + (size_t)t2 * 32 + 16));                \
        for (int r = 0; r < MR; r++) {                                                                   \
            int32_t pair;                                                                                \
            memcpy(&pair, a16 + (size_t)r * k2 + 2 * t2, 4);                                             \
            __m256i a = _mm256_set1_epi32(pair);                                                         \
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(a, w0));                           \
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(a, w1));                           \
        }                                                                                                \
    }                                                                                                    \
    for (int r = 0; r < MR; r++) store16(acc[r][0], acc[r][1], sx[r], sw, bias, y + (size_t)r * n, cols); \
}
KERNEL(6)
KERNEL(4)
KERNEL(2)
KERNEL(1)

AVX2 static void packed_avx2(const int16_t *a16, const int16_t *packed, int m, int n, int k,
                             const float *sx, const float *sw, const float *bias, float *y) {
    int k2 = even(k), panels = (n + 15) / 16;
    /* Rows in blocks of 96 so one block of activations stays in L1/L2 while every panel streams by. */
    for (int i0 = 0; i0 < m; i0 += 96) {
        int i1 = i0 + 96 < m ? i0 + 96 : m;
        for (int p = 0; p < panels; p++) {
            const int16_t *panel = packed + (size_t)p * k2 * 16;
            int j = p * 16, cols = n - j < 16 ? n - j : 16;
            float swp[16] = {0}, bp[16] = {0};
            memcpy(swp, sw + j, (size_t)cols * sizeof(float));
            if (bias) memcpy(bp, bias + j, (size_t)cols * sizeof(float));
            const float *b = bias ? bp : NULL;
            int i = i0;
            for (; i + 6 <= i1; i += 6) tile_6(a16 + (size_t)i * k2, k2, panel, sx + i, swp, b, y + (size_t)i * n + j, n, cols);
            for (; i + 4 <= i1; i += 4) tile_4(a16 + (size_t)i * k2, k2, panel, sx + i, swp, b, y + (size_t)i * n + j, n, cols);
            for (; i + 2 <= i1; i += 2) tile_2(a16 + (size_t)i * k2, k2, panel, sx + i, swp, b, y + (size_t)i * n + j, n, cols);
            for (; i < i1; i++) tile_1(a16 + (size_t)i * k2, k2, panel, sx + i, swp, b, y + (size_t)i * n + j, n, cols);
        }
    }
}
#endif

void ce_qgemm_packed_f32(const int16_t *a16, const int16_t *packed, int m, int n, int k,
                         const float *sx, const float *sw, const float *bias, float *y) {
#if defined(__x86_64__)
    if (ce_fp32_variant() == 1) { packed_avx2(a16, packed, m, n, k, sx, sw, bias, y); return; }
#endif
    packed_portable(a16, packed, m, n, k, sx, sw, bias, y);
}
