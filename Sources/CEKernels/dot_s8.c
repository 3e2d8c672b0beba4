#include "cekernels.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Stage 1 of an int8 embedding-index search: int32 dot products of int8 query codes with int8 row codes.
   out[qi · n + r] = Σ_t q[qi · d + t] · rows[r · d + t]. Every path sums exactly (wrapping int32 adds; the true sum
   fits for d ≤ 65,536), so all equal the reference bit for bit. */

void ce_dot_s8_rows_reference(const int8_t *q, int nq, const int8_t *rows, long n, int d, int32_t *out) {
    for (int qi = 0; qi < nq; qi++)
        for (long r = 0; r < n; r++) {
            int32_t s = 0;
            for (int t = 0; t < d; t++) s += (int32_t)q[(size_t)qi * d + t] * (int32_t)rows[(size_t)r * d + t];
            out[(size_t)qi * n + r] = s;
        }
}

#if defined(__x86_64__)
#define VNNI512 __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define AVX2 __attribute__((target("avx2")))

/* vpdpbusd multiplies u8 by s8: the query codes go in shifted, u = q + 128, and each row's 128 · Σ_t row[t] (one more
   vpdpbusd with ones) comes off: Σ u·w − 128·Σ w = Σ q·w. d is covered in 64-byte steps, the tail by a byte mask
   (masked-off bytes load as 0 on both sides). Queries in groups of 4 share each row's loads. */
VNNI512 static void dot_vnni(const int8_t *q, int nq, const int8_t *rows, long n, int d, int32_t *out) {
    int steps = (d + 63) / 64;
    __mmask64 tail = (d % 64) ? (((__mmask64)1 << (d % 64)) - 1) : ~(__mmask64)0;
    const __m512i flip = _mm512_set1_epi8((char)0x80), ones = _mm512_set1_epi8(1);
    for (long r = 0; r < n; r++) {
        const int8_t *row = rows + (size_t)r * d;
        __m512i sw = _mm512_setzero_si512();
        for (int s = 0; s < steps; s++) {
            __m512i w = _mm512_maskz_loadu_epi8(s == steps - 1 ? tail : ~(__mmask64)0, row + 64 * s);
            sw = _mm512_dpbusd_epi32(sw, ones, w);
        }
        int32_t corr = 128 * _mm512_reduce_add_epi32(sw);
        int qi = 0;
        for (; qi + 4 <= nq; qi += 4) {
            __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
            for (int s = 0; s < steps; s++) {
                __mmask64 k = s == steps - 1 ? tail : ~(__mmask64)0;
                __m512i w = _mm512_maskz_loadu_epi8(k, row + 64 * s);
                const int8_t *qs = q + (size_t)qi * d + 64 * s;
                a0 = _mm512_dpbusd_epi32(a0, _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, qs), flip), w);
                a1 = _mm512_dpbusd_epi32(a1, _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, qs + d), flip), w);
                a2 = _mm512_dpbusd_epi32(a2, _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, qs + 2 * (size_t)d), flip), w);
                a3 = _mm512_dpbusd_epi32(a3, _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, qs + 3 * (size_t)d), flip), w);
            }
            out[(size_t)qi * n + r] = _mm512_reduce_add_epi32(a0) - corr;
            out[(size_t)(qi + 1) * n + r] = _mm512_reduce_add_epi32(a1) - corr;
            out[(size_t)(qi + 2) * n + r] = _mm512_reduce_add_epi32(a2) - corr;
            out[(size_t)(qi + 3) * n + r] = _mm512_reduce_add_epi32(a3) - corr;
        }
        for (; qi < nq; qi++) {
            __m512i a = _mm512_setzero_si512();
            for (int s = 0; s < steps; s++) {
                __mmask64 k = s == steps - 1 ? tail : ~(__mmask64)0;
                __m512i w = _mm512_maskz_loadu_epi8(k, row + 64 * s);
                a = _mm512_dpbusd_epi32(a, _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, q + (size_t)qi * d + 64 * s), flip), w);
            }
            out[(size_t)qi * n + r] = _mm512_reduce_add_epi32(a) - corr;
        }
    }
}

AVX2 static inline int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/* Both sides widened to int16, vpmaddwd: exact (|q·w| ≤ 2^14, pairs ≤ 2^15), 16 positions a step; the tail of d past a
   multiple of 16 in scalar code. */
AVX2 static void dot_avx2(const int8_t *q, int nq, const int8_t *rows, long n, int d, int32_t *out) {
    int full = d & ~15;
    for (long r = 0; r < n; r++) {
        const int8_t *row = rows + (size_t)r * d;
        for (int qi = 0; qi < nq; qi++) {
            const int8_t *qq = q + (size_t)qi * d;
            __m256i acc = _mm256_setzero_si256();
            for (int t = 0; t < full; t += 16) {
                __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(row + t)));
                __m256i a = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(qq + t)));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(a, w));
            }
            int32_t s = hsum_epi32(acc);
            for (int t = full; t < d; t++) s += (int32_t)qq[t] * (int32_t)row[t];
            out[(size_t)qi * n + r] = s;
        }
    }
}
#endif

static int dot_cap = 2;
void ce_limit_dot_s8_variant(int max) { dot_cap = max < 0 ? 2 : max; }

int ce_dot_s8_variant(void) {
    int v = 0;
#if defined(__x86_64__)
    int f = ce_cpu_features(), vnni = CE_CPU_AVX512F | CE_CPU_AVX512BW | CE_CPU_AVX512VNNI;
    v = (f & vnni) == vnni ? 2 : (f & CE_CPU_AVX2) ? 1 : 0;
#endif
    return v < dot_cap ? v : dot_cap;
}

void ce_dot_s8_rows(const int8_t *q, int nq, const int8_t *rows, long n, int d, int32_t *out) {
#if defined(__x86_64__)
    if (d > 0 && d <= 65536) {
        switch (ce_dot_s8_variant()) {
        case 2: dot_vnni(q, nq, rows, n, d, out); return;
        case 1: dot_avx2(q, nq, rows, n, d, out); return;
        default: break;
        }
    }
#endif
    ce_dot_s8_rows_reference(q, nq, rows, n, d, out);
}
