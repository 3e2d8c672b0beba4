/* ARM64 kernel harness (scripts/test_arm64.sh runs it under qemu-user): every NEON kernel of Sources/CEKernels
 * against its scalar twin on seeded random shapes, odd sizes included, at each dispatch level the CPU offers (forced
 * through ce_limit_u8s8_variant / ce_limit_packed_variant / ce_force_portable). The int8 GEMMs and row quantizers
 * must equal their twins bit for bit; the fp32 helpers must stay within the tolerances of Tests/CERuntimeTests/
 * KernelTests.swift against double-precision twins. Usage: harness <expected u8s8 level | auto> [cases]. */
#include "cekernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next32(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng >> 16); }
static int irand(int lo, int hi) { return lo + (int)(next32() % (uint32_t)(hi - lo + 1)); }
static float frand(float scale) { return scale * ((float)(next32() & 0xFFFFFF) / 8388608.0f - 1.0f); }

static int failures = 0, checks = 0;
#define CHECK(cond, ...)                                                                                   \
    do {                                                                                                  \
        checks++;                                                                                         \
        if (!(cond)) { if (++failures <= 20) { printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); } } \
    } while (0)

static void *alloc64(size_t bytes) { void *p = NULL; if (posix_memalign(&p, 64, bytes ? bytes : 1)) abort(); return p; }
static void fill_weights(int8_t *w, size_t count) { for (size_t i = 0; i < count; i++) w[i] = (int8_t)irand(-127, 127); }
static void fill_floats(float *x, size_t count, float scale) { for (size_t i = 0; i < count; i++) x[i] = frand(scale); }

/* Bit-exact comparison of two float arrays (NaN never expected). */
static int same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

/* ---- u8 x s8 GEMM: ce_qgemm_u8s8_gx_f32 at `level` vs its reference, one activation scale per row or (grouped
 * weights, about half the cases) per row and group ---- */
static int pick_u8_group(int k) {
    switch (irand(0, 3)) {
    case 0: return 0;
    case 1: return k + irand(0, 5);
    default: return k > 4 ? 4 * irand(1, (k - 1) / 4) : 0;
    }
}

static void test_u8s8(int level, int cases) {
    for (int c = 0; c < cases; c++) {
        int m = irand(1, 13), n = irand(1, 70), k = irand(1, 300), group = pick_u8_group(k);
        int groups = group > 0 && group < k ? (k + group - 1) / group : 1, k4 = (k + 3) & ~3;
        int8_t *w = alloc64((size_t)n * k), *packed = alloc64(ce_qgemm_u8_packed_size(n, k));
        int32_t *corr = alloc64((size_t)n * groups * 4);
        int sxg = groups > 1 && irand(0, 1) ? groups : 1;
        float *x = alloc64((size_t)m * k * 4), *sx = alloc64((size_t)m * sxg * 4), *sw = alloc64((size_t)n * groups * 4);
        float *bias = irand(0, 1) ? alloc64((size_t)n * 4) : NULL, *y = alloc64((size_t)m * n * 4), *ref = alloc64((size_t)m * n * 4);
        uint8_t *u = alloc64((size_t)m * k4);
        fill_weights(w, (size_t)n * k);
        fill_floats(x, (size_t)m * k, 4);
        for (int i = 0; i < n * groups; i++) sw[i] = 0.001f + fabsf(frand(0.01f));
        if (bias) fill_floats(bias, n, 1);
        ce_qgemm_u8_pack_s8(w, packed, n, k);
        ce_qgemm_u8_corrections(packed, n, k, group, corr);
        if (sxg > 1) ce_quantize_rows_u8_groups_reference(x, NULL, u, sx, m, k, group);
        else ce_quantize_rows_u8_reference(x, NULL, u, sx, m, k);
        ce_qgemm_u8s8_gx_f32_reference(u, packed, corr, m, n, k, group, sx, sxg, sw, bias, ref);
        ce_limit_u8s8_variant(level);
        ce_qgemm_u8s8_gx_f32(u, packed, corr, m, n, k, group, sx, sxg, sw, bias, y);
        ce_limit_u8s8_variant(-1);
        CHECK(same_bits(y, ref, (size_t)m * n), "u8s8 level %d m=%d n=%d k=%d group=%d sxg=%d bias=%d", level, m, n, k, group,
              sxg, bias != NULL);
        free(w); free(packed); free(corr); free(x); free(sx); free(sw); free(bias); free(y); free(ref); free(u);
    }
}

/* ---- int8 weights x int16 activations: packed (and grouped) at `level` vs the portable path / grouped reference ---- */
static void test_packed(int level, int cases) {
    for (int c = 0; c < cases; c++) {
        int m = irand(1, 13), n = irand(1, 70), k = irand(1, 300), k2 = (k + 1) & ~1;
        int group = irand(0, 2) == 0 ? 0 : 2 * irand(1, (k + 1) / 2 + 2);
        int groups = group > 0 ? (k + group - 1) / group : 1;
        int qmax = group > 0 ? ce_s16_qmax_grouped(k, group) : ce_s16_qmax(k);
        int8_t *w = alloc64((size_t)n * k), *packed = alloc64(ce_qgemm_packed_size(n, k));
        int16_t *a16 = alloc64((size_t)m * k2 * 2);
        float *x = alloc64((size_t)m * k * 4), *sx = alloc64((size_t)m * 4), *sw = alloc64((size_t)n * groups * 4);
        float *bias = irand(0, 1) ? alloc64((size_t)n * 4) : NULL, *y = alloc64((size_t)m * n * 4), *ref = alloc64((size_t)m * n * 4);
        fill_weights(w, (size_t)n * k);
        fill_floats(x, (size_t)m * k, 3);
        for (int i = 0; i < n * groups; i++) sw[i] = 0.001f + fabsf(frand(0.01f));
        if (bias) fill_floats(bias, n, 1);
        ce_qgemm_pack_s8(w, packed, n, k);
        ce_quantize_rows_s16_reference(x, NULL, a16, sx, m, k, qmax);
        if (group > 0) {
            ce_qgemm_packed_grouped_f32_reference(a16, packed, m, n, k, group, sx, sw, bias, ref);
            ce_limit_packed_variant(level);
            ce_qgemm_packed_grouped_f32(a16, packed, m, n, k, group, sx, sw, bias, y);
        } else {
            ce_limit_packed_variant(0);
            ce_qgemm_packed_f32(a16, packed, m, n, k, sx, sw, bias, ref);
            ce_limit_packed_variant(level);
            ce_qgemm_packed_f32(a16, packed, m, n, k, sx, sw, bias, y);
        }
        ce_limit_packed_variant(-1);
        CHECK(same_bits(y, ref, (size_t)m * n), "packed s16 level %d m=%d n=%d k=%d group=%d qmax=%d", level, m, n, k, group, qmax);
        free(w); free(packed); free(a16); free(x); free(sx); free(sw); free(bias); free(y); free(ref);
    }
}

/* ---- row quantizers: the dispatched variant vs the portable loops, byte for byte ---- */
static void test_quantizers(void) {
    static const int shapes[][2] = {{1, 1}, {3, 15}, {2, 16}, {4, 17}, {3, 384}, {2, 1536}, {5, 33}, {2, 4097}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], k = shapes[s][1], k2 = (k + 1) & ~1, k4 = (k + 3) & ~3;
        float *x = alloc64((size_t)rows * k * 4), *f = alloc64((size_t)k * 4), *y = alloc64((size_t)rows * k * 4);
        float *s1 = alloc64((size_t)rows * 4), *s2 = alloc64((size_t)rows * 4);
        int8_t *q1 = alloc64((size_t)rows * k), *q2 = alloc64((size_t)rows * k);
        uint8_t *u1 = alloc64((size_t)rows * k4), *u2 = alloc64((size_t)rows * k4);
        int16_t *h1 = alloc64((size_t)rows * k2 * 2), *h2 = alloc64((size_t)rows * k2 * 2);
        fill_floats(x, (size_t)rows * k, 6);
        if (k > 3) { x[1] = 0.5f * (x[0] == 0 ? 1 : x[0]); x[2] = -x[1]; } /* ties after scaling */
        for (int t = 0; t < k; t++) f[t] = fabsf(frand(2)) + 0.01f;
        for (int i = 0; i < rows * k; i++) y[i] = x[i] * f[i % k];
        ce_quantize_rows_s8_reference(x, q1, s1, rows, k);
        ce_quantize_rows_s8(x, q2, s2, rows, k);
        CHECK(!memcmp(q1, q2, (size_t)rows * k) && same_bits(s1, s2, rows), "quantize s8 rows=%d k=%d", rows, k);
        ce_quantize_rows_s8_reference(y, q1, s1, rows, k);
        ce_quantize_rows_s8_smooth(x, f, q2, s2, rows, k);
        CHECK(!memcmp(q1, q2, (size_t)rows * k) && same_bits(s1, s2, rows), "quantize s8 smooth rows=%d k=%d", rows, k);
        for (int sm = 0; sm < 2; sm++) {
            ce_quantize_rows_u8_reference(x, sm ? f : NULL, u1, s1, rows, k);
            ce_quantize_rows_u8(x, sm ? f : NULL, u2, s2, rows, k);
            CHECK(!memcmp(u1, u2, (size_t)rows * k4) && same_bits(s1, s2, rows), "quantize u8 smooth=%d rows=%d k=%d", sm, rows, k);
            int qmaxes[] = {ce_s16_qmax(k), 127, 300};
            for (int qi = 0; qi < 3; qi++) {
                ce_quantize_rows_s16_reference(x, sm ? f : NULL, h1, s1, rows, k, qmaxes[qi]);
                ce_quantize_rows_s16(x, sm ? f : NULL, h2, s2, rows, k, qmaxes[qi]);
                CHECK(!memcmp(h1, h2, (size_t)rows * k2 * 2) && same_bits(s1, s2, rows), "quantize s16 qmax=%d smooth=%d rows=%d k=%d",
                      qmaxes[qi], sm, rows, k);
            }
        }
        free(x); free(f); free(y); free(s1); free(s2); free(q1); free(q2); free(u1); free(u2); free(h1); free(h2);
    }
}

/* ---- fp32 helpers vs double-precision twins (KernelsReference): GELU, softmax ---- */
static void test_fp32(const char *variant) {
    int n = 1023;
    float x[1033], g[1033];
    fill_floats(x, n, 8);
    float extra[] = {0, -0.0f, 1e-20f, -1e-20f, 12, -12, 5.7f, -5.7f, 100, -100};
    memcpy(x + n, extra, sizeof extra);
    n += 10;
    memcpy(g, x, sizeof x);
    ce_gelu_f32(g, (size_t)n);
    for (int i = 0; i < n; i++) {
        double want = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0)));
        CHECK(fabs(g[i] - want) <= 1e-6 * fmax(1, fabs(x[i])), "%s gelu(%g) = %g, want %g", variant, x[i], g[i], want);
    }
    int lens[] = {1, 3, 4, 5, 7, 8, 9, 77};
    for (int li = 0; li < 8; li++) {
        int rows = 13, len = lens[li];
        float s[13 * 77];
        memcpy(s, x, (size_t)rows * len * 4);
        ce_softmax_rows_f32(s, rows, len);
        for (int r = 0; r < rows; r++) {
            double mx = -INFINITY, z = 0;
            for (int i = 0; i < len; i++) mx = fmax(mx, x[r * len + i]);
            for (int i = 0; i < len; i++) z += exp(x[r * len + i] - mx);
            for (int i = 0; i < len; i++)
                CHECK(fabs(s[r * len + i] - exp(x[r * len + i] - mx) / z) <= 1e-6, "%s softmax n=%d", variant, len);
        }
    }
}

/* LayerNorm after the residual add vs the double twin; the int8 dequant epilogue vs its portable loop, bit for bit. */
static void test_layernorm_dequant(const char *variant) {
    static const int ln[][2] = {{1, 1}, {3, 7}, {5, 384}, {2, 1001}, {4, 17}};
    for (int c = 0; c < 5; c++) {
        int rows = ln[c][0], cols = ln[c][1];
        float *a = alloc64((size_t)rows * cols * 4), *r = alloc64((size_t)rows * cols * 4), *gm = alloc64((size_t)cols * 4), *bt = alloc64((size_t)cols * 4);
        fill_floats(a, (size_t)rows * cols, 10);
        fill_floats(r, (size_t)rows * cols, 1);
        fill_floats(gm, cols, 1);
        fill_floats(bt, cols, 1);
        double *sum = malloc((size_t)rows * cols * sizeof(double));
        for (int i = 0; i < rows * cols; i++) sum[i] = (double)(a[i] + r[i]);
        ce_layernorm_f32(a, r, rows, cols, gm, bt, 1e-12f);
        for (int i = 0; i < rows; i++) {
            double mean = 0, var = 0;
            for (int t = 0; t < cols; t++) mean += sum[i * cols + t];
            mean /= cols;
            for (int t = 0; t < cols; t++) var += (sum[i * cols + t] - mean) * (sum[i * cols + t] - mean);
            var /= cols;
            for (int t = 0; t < cols; t++) {
                double want = (sum[i * cols + t] - mean) / sqrt(var + 1e-12) * gm[t] + bt[t];
                CHECK(fabs(a[i * cols + t] - want) <= 1e-4, "%s layernorm rows=%d n=%d", variant, rows, cols);
            }
        }
        free(a); free(r); free(gm); free(bt); free(sum);
    }
    static const int dq[][2] = {{1, 1}, {3, 9}, {2, 17}, {5, 384}};
    for (int c = 0; c < 4; c++) {
        int m = dq[c][0], cols = dq[c][1];
        int32_t acc[5 * 384];
        float sx[5], sw[384], bias[384], y1[5 * 384], y2[5 * 384];
        for (int i = 0; i < m * cols; i++) acc[i] = irand(-2000000, 2000000);
        for (int i = 0; i < m; i++) sx[i] = frand(0.01f);
        for (int j = 0; j < cols; j++) { sw[j] = frand(0.01f); bias[j] = frand(1); }
        for (int b = 0; b < 2; b++) {
            ce_dequant_f32(acc, sx, sw, b ? bias : NULL, y1, m, cols);
            ce_force_portable(1);
            ce_dequant_f32(acc, sx, sw, b ? bias : NULL, y2, m, cols);
            ce_force_portable(0);
            CHECK(same_bits(y1, y2, (size_t)m * cols), "%s dequant m=%d n=%d bias=%d", variant, m, cols, b);
        }
    }
}

/* ---- attention, one head of a fused [len, 3d] row layout, vs the double-precision twin (KernelsReference.attention) ---- */
static double attention_error(int len, int dh, int window, int *ran) {
    int d = 2 * dh, ld = 3 * d;
    float *qkv = alloc64((size_t)len * ld * 4), *out = alloc64((size_t)len * d * 4);
    size_t scratch_floats = ce_attention_scratch_floats(len, dh);
    if (scratch_floats < (size_t)len) scratch_floats = len;
    float *scratch = alloc64(scratch_floats * 4);
    fill_floats(qkv, (size_t)len * ld, 3);
    const float *q = qkv + dh, *k = qkv + d + dh, *v = qkv + 2 * d + dh; /* the second head of two */
    float scale = 1 / sqrtf((float)dh);
    *ran = 1;
    if (window < 0) *ran = ce_attention_head_f32(q, k, v, ld, out, d, len, dh, scale, scratch);
    else ce_attention_window_f32(q, k, v, ld, out, d, len, dh, scale, window, scratch);
    double worst = 0, *e = malloc((size_t)len * sizeof(double));
    for (int i = 0; *ran && i < len; i++) {
        double mx = -INFINITY, z = 0;
        for (int j = 0; j < len; j++) {
            e[j] = -INFINITY;
            if (window >= 0 && abs(i - j) > window) continue;
            double acc = 0;
            for (int t = 0; t < dh; t++) acc += (double)q[(size_t)i * ld + t] * k[(size_t)j * ld + t];
            e[j] = acc / sqrt((double)dh);
            mx = fmax(mx, e[j]);
        }
        for (int j = 0; j < len; j++) { e[j] = e[j] == -INFINITY ? 0 : exp(e[j] - mx); z += e[j]; }
        for (int t = 0; t < dh; t++) {
            double acc = 0;
            for (int j = 0; j < len; j++) acc += e[j] / z * v[(size_t)j * ld + t];
            worst = fmax(worst, fabs(out[(size_t)i * d + t] - acc));
        }
    }
    free(qkv); free(out); free(scratch); free(e);
    return worst;
}

static void test_attention(const char *variant) {
    static const int heads[][2] = {{1, 8}, {5, 8}, {37, 32}, {9, 16}, {17, 64}, {130, 32}, {16, 40}, {23, 24}, {6, 7}};
    for (size_t c = 0; c < sizeof heads / sizeof heads[0]; c++) {
        int ran;
        double err = attention_error(heads[c][0], heads[c][1], -1, &ran);
        CHECK(err <= 1e-4, "%s attention len=%d dh=%d: %g", variant, heads[c][0], heads[c][1], err);
        CHECK(ran == (ce_fp32_variant() == 1 && heads[c][1] % 8 == 0), "%s attention len=%d dh=%d ran=%d", variant, heads[c][0], heads[c][1], ran);
    }
    static const int windows[][3] = {{1, 8, 0}, {2, 8, 0}, {7, 12, 1}, {40, 8, 5}, {41, 16, 8}, {33, 6, 64}, {9, 8, 4}, {64, 24, 3}, {100, 32, 10}};
    for (size_t c = 0; c < sizeof windows / sizeof windows[0]; c++) {
        int ran;
        double err = attention_error(windows[c][0], windows[c][1], windows[c][2], &ran);
        CHECK(err <= 1e-4, "%s window attention len=%d dh=%d window=%d: %g", variant, windows[c][0], windows[c][1], windows[c][2], err);
    }
}

/* ---- f16 -> f32: every binary16 value, against the portable widening (ce_force_portable(1)), NaN as NaN ---- */
static void test_f16(void) {
    uint16_t *h = malloc(65536 * 2);
    float *a = malloc(65536 * 4), *b = malloc(65536 * 4);
    for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    ce_f16_to_f32(h, a, 65533); /* an odd count: the tail too */
    ce_f16_to_f32(h + 65533, a + 65533, 3);
    ce_force_portable(1);
    ce_f16_to_f32(h, b, 65536);
    ce_force_portable(0);
    int bad = 0;
    for (int i = 0; i < 65536; i++) bad += isnan(b[i]) ? !isnan(a[i]) : memcmp(a + i, b + i, 4) != 0;
    CHECK(bad == 0, "f16 -> f32: %d of 65536 values differ", bad);
    free(h); free(a); free(b);
}

static const char *u8_names[] = {"portable", "NEON smull+sadalp", "dotprod sdot", "i8mm smmla"};
static const char *packed_names[] = {"portable", "NEON smlal", "dotprod sdot"};

int main(int argc, char **argv) {
    int expect = argc > 1 && strcmp(argv[1], "auto") ? atoi(argv[1]) : -1, cases = argc > 2 ? atoi(argv[2]) : 40;
    int f = ce_cpu_features();
    printf("features: neon=%d dotprod=%d i8mm=%d; u8s8 level %d, packed level %d, fp32 level %d\n", !!(f & CE_CPU_NEON),
           !!(f & CE_CPU_DOTPROD), !!(f & CE_CPU_I8MM), ce_qgemm_u8s8_variant(), ce_qgemm_packed_variant(), ce_fp32_variant());
#if defined(__aarch64__)
    CHECK(ce_fp32_variant() == 1 && ce_qgemm_packed_variant() >= 1, "NEON is ARM64's baseline: fp32 and packed level 1 at least");
#endif
    if (expect >= 0) {
        CHECK(ce_qgemm_u8s8_variant() == expect, "u8s8 dispatch: level %d, want %d", ce_qgemm_u8s8_variant(), expect);
        int packed = expect >= 2 ? 2 : 1; /* sdot when the CPU has dotprod */
        CHECK(ce_qgemm_packed_variant() == packed, "packed dispatch: level %d, want %d", ce_qgemm_packed_variant(), packed);
    }
    ce_force_portable(1);
    CHECK(ce_qgemm_u8s8_variant() == 0 && ce_qgemm_packed_variant() == 0 && ce_fp32_variant() == 0, "ce_force_portable(1)");
    ce_force_portable(0);
    for (int level = 0; level <= 3; level++) {
        ce_limit_u8s8_variant(level);
        int has = ce_qgemm_u8s8_variant() == level;
        ce_limit_u8s8_variant(-1);
        if (!has) { printf("u8s8 %-18s not on this CPU\n", u8_names[level]); continue; }
        int before = failures;
        test_u8s8(level, cases);
        printf("u8s8 %-18s %d cases %s\n", u8_names[level], cases, failures == before ? "bit-exact" : "MISMATCH");
    }
    for (int level = 0; level <= 2; level++) {
        ce_limit_packed_variant(level);
        int has = ce_qgemm_packed_variant() == level, before = failures;
        ce_limit_packed_variant(-1);
        if (!has) { printf("packed s16 %-14s not on this CPU\n", packed_names[level]); continue; }
        test_packed(level, cases);
        printf("packed s16 %-14s %d cases %s\n", packed_names[level], cases, failures == before ? "bit-exact" : "MISMATCH");
    }
    int before = failures;
    test_f16();
    printf("f16 -> f32 widening %s\n", failures == before ? "exact" : "MISMATCH");
    before = failures;
    test_quantizers();
    printf("row quantizers (s8, s8 smooth, u8, s16) %s\n", failures == before ? "byte-exact" : "MISMATCH");
    for (int portable = 1; portable >= 0; portable--) {
        before = failures;
        ce_force_portable(portable);
        test_fp32(portable ? "portable" : "NEON");
        test_layernorm_dequant(portable ? "portable" : "NEON");
        test_attention(portable ? "portable" : "NEON");
        ce_force_portable(0);
        printf("fp32 helpers and attention (%s) %s\n", portable ? "portable" : "NEON", failures == before ? "within tolerance" : "OUT OF TOLERANCE");
    }
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
