#ifndef CEKERNELS_NEON_COMMON_H
#define CEKERNELS_NEON_COMMON_H
/* ARM64 NEON helpers shared by the kernels (private to CEKernels). Each follows its scalar twin's operation order,
 * one fp32 rounding per operation (vmulq then vaddq, never a fused vfmaq), so int8 GEMM epilogues and row quantizers
 * equal the portable loops bit for bit. */
#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#define CE_NEON_INLINE static inline __attribute__((always_inline))
/* Functions using sdot (ARMv8.2 dotprod) and smmla (i8mm); callers check HWCAP_ASIMDDP / HWCAP2_I8MM first. */
#define CE_NEON_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define CE_NEON_I8MM __attribute__((target("arch=armv8.2-a+dotprod+i8mm")))

/* y[0 ..< cols] (cols ≤ 16) of a row's 16 results v[q] = columns 4q ..< 4q + 4. */
CE_NEON_INLINE void ce_neon_put16(const float32x4_t v[4], float *y, int cols) {
    if (cols == 16) { for (int q = 0; q < 4; q++) vst1q_f32(y + 4 * q, v[q]); return; }
    float tmp[16];
    for (int q = 0; q < 4; q++) vst1q_f32(tmp + 4 * q, v[q]);
    memcpy(y, tmp, (size_t)cols * sizeof(float));
}

/* One row's 16 exact int32 sums: ((float)acc·sx)·sw (+ bias), ce_dequant_f32's order. sw, bias: 16 values. */
CE_NEON_INLINE void ce_neon_dequant16(const int32x4_t acc[4], float sx, const float *sw, const float *bias, float *y, int cols) {
    float32x4_t v[4], s = vdupq_n_f32(sx);
    for (int q = 0; q < 4; q++) {
        v[q] = vmulq_f32(vmulq_f32(vcvtq_f32_s32(acc[q]), s), vld1q_f32(sw + 4 * q));
        if (bias) v[q] = vaddq_f32(v[q], vld1q_f32(bias + 4 * q));
    }
    ce_neon_put16(v, y, cols);
}

/* One row's 16 fp32 group sums S = Σ_g (float)acc_g·sw[j, g]: S·sx (+ bias), the grouped kernels' order. */
CE_NEON_INLINE void ce_neon_scale16(const float32x4_t s[4], float sx, const float *bias, float *y, int cols) {
    float32x4_t v[4], x = vdupq_n_f32(sx);
    for (int q = 0; q < 4; q++) {
        v[q] = vmulq_f32(s[q], x);
        if (bias) v[q] = vaddq_f32(v[q], vld1q_f32(bias + 4 * q));
    }
    ce_neon_put16(v, y, cols);
}

/* s[q] + (float)acc[q]·sw[4q ..< 4q + 4] for q < 4: one group's step of S (product, then sum). */
CE_NEON_INLINE void ce_neon_fold16(float32x4_t s[4], const int32x4_t acc[4], const float *sw) {
    for (int q = 0; q < 4; q++) s[q] = vaddq_f32(s[q], vmulq_f32(vcvtq_f32_s32(acc[q]), vld1q_f32(sw + 4 * q)));
}

/* max over t < k of |x[t]·smooth[t]| (smooth may be NULL), NaN ignored like the portable loops' `v > mx`. */
CE_NEON_INLINE float ce_neon_absmax(const float *x, const float *smooth, int k) {
    float32x4_t vm = vdupq_n_f32(0);
    int t = 0;
    for (; t + 4 <= k; t += 4) {
        float32x4_t v = vld1q_f32(x + t);
        if (smooth) v = vmulq_f32(v, vld1q_f32(smooth + t));
        vm = vmaxnmq_f32(vm, vabsq_f32(v));
    }
    float mx = vmaxnmvq_f32(vm);
    for (; t < k; t++) { float v = fabsf(smooth ? x[t] * smooth[t] : x[t]); if (v > mx) mx = v; }
    return mx;
}

/* Codes of x[0 ..< 4]: clamp(rint((x·smooth)·inv), ±qmax) as int32, the portable loops' order (rint: ties to even). */
CE_NEON_INLINE int32x4_t ce_neon_codes4(const float *x, const float *smooth, float32x4_t inv, float32x4_t qmax) {
    float32x4_t v = vld1q_f32(x);
    if (smooth) v = vmulq_f32(v, vld1q_f32(smooth));
    v = vrndnq_f32(vmulq_f32(v, inv));
    return vcvtq_s32_f32(vminq_f32(vmaxq_f32(v, vnegq_f32(qmax)), qmax));
}

/* Codes of x[0 ..< 16] (|code| ≤ 127) as int8. */
CE_NEON_INLINE int8x16_t ce_neon_codes16_s8(const float *x, const float *smooth, float32x4_t inv) {
    const float32x4_t q = vdupq_n_f32(127.0f);
    int16x8_t lo = vcombine_s16(vmovn_s32(ce_neon_codes4(x, smooth, inv, q)), vmovn_s32(ce_neon_codes4(x + 4, smooth ? smooth + 4 : NULL, inv, q)));
    int16x8_t hi = vcombine_s16(vmovn_s32(ce_neon_codes4(x + 8, smooth ? smooth + 8 : NULL, inv, q)),
                                vmovn_s32(ce_neon_codes4(x + 12, smooth ? smooth + 12 : NULL, inv, q)));
    return vcombine_s8(vmovn_s16(lo), vmovn_s16(hi));
}
#endif
#endif
