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

/// IEEE binary16 -> binary32 for n values (F16C when present).
void ce_f16_to_f32(const uint16_t *src, float *dst, size_t n);

#endif
