// Integer dot products on GGUF blocks (see include/lmkit_kernels.h). Block layouts follow ggml's
// ggml-common.h; the scalar kernels below are the definition, the x86 ones (quant_dot_x86.h,
// compiled twice: AVX2, and AVX-512 VNNI) must give the same integer sums.
#include "lmkit_kernels.h"

#include <math.h>
#include <string.h>

#include "quant_common.h"

void lmk_quantize_q8(const float *x, lmk_q8_block *y, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++) {
        const float *xs = x + b * 32;
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(xs[j]));
        const float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            // roundf (half away from zero), written so that the loop vectorizes: truncate v ± 0.5.
            const float v = xs[j] * id;
            const int q = (int)(v + copysignf(0.5f, v));
            y[b].q[j] = (int8_t)q;
            sum += q;
        }
        y[b].d = d;
        y[b].s = d * (float)sum;
    }
}

// MARK: - Scalar kernels (the definition)

typedef float (*lmk_row_kernel)(const uint8_t *w, const lmk_q8_block *x, int64_t n);

static float scalar_q8_0(const uint8_t *w, const lmk_q8_block *x, int64_t n) {
    float total = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        const uint8_t *block = w + b * 34;
        const int8_t *q = (const int8_t *)(block + 2);
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += q[j] * x[b].q[j];
        total += (float)sum * lmk_fp16(block) * x[b].d;
    }
    return total;
}

/// Q4_0 and Q4_1: element j < 16 is the low nibble of byte j, element j + 16 its high nibble.
static inline float scalar_q4(const uint8_t *w, const lmk_q8_block *x, int64_t n, int with_min) {
    const int size = with_min ? 20 : 18, offset = with_min ? 4 : 2;
    float total = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        const uint8_t *block = w + b * size, *q = block + offset;
        int sum = 0;
        for (int j = 0; j < 16; j++) sum += (q[j] & 0xF) * x[b].q[j] + (q[j] >> 4) * x[b].q[j + 16];
        const float d = lmk_fp16(block);
        total += (float)sum * d * x[b].d + (with_min ? lmk_fp16(block + 2) : -8 * d) * x[b].s;
    }
    return total;
}

static float scalar_q4_0(const uint8_t *w, const lmk_q8_block *x, int64_t n) { return scalar_q4(w, x, n, 0); }
static float scalar_q4_1(const uint8_t *w, const lmk_q8_block *x, int64_t n) { return scalar_q4(w, x, n, 1); }

/// Q5_0 and Q5_1: as Q4 with bit e of the 32-bit `qh` as element e's fifth bit.
static inline float scalar_q5(const uint8_t *w, const lmk_q8_block *x, int64_t n, int with_min) {
    const int size = with_min ? 24 : 22, offset = with_min ? 4 : 2;
    float total = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        const uint8_t *block = w + b * size, *q = block + offset + 4;
        uint32_t qh;
        memcpy(&qh, block + offset, 4);
        int sum = 0;
        for (int j = 0; j < 16; j++) {
            const int lo = (q[j] & 0xF) | (((qh >> j) & 1) << 4), hi = (q[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            sum += lo * x[b].q[j] + hi * x[b].q[j + 16];
        }
        const float d = lmk_fp16(block);
        total += (float)sum * d * x[b].d + (with_min ? lmk_fp16(block + 2) : -16 * d) * x[b].s;
    }
    return total;
}

static float scalar_q5_0(const uint8_t *w, const lmk_q8_block *x, int64_t n) { return scalar_q5(w, x, n, 0); }
static float scalar_q5_1(const uint8_t *w, const lmk_q8_block *x, int64_t n) { return scalar_q5(w, x, n, 1); }

/// Q4_K and Q5_K: 256 weights in 4 chunks of 64; sub-block 2c is chunk c's low nibbles, 2c+1 its
/// high nibbles (Q5_K: fifth bits 2c and 2c+1 of qh[l]); value = d·scale·q − dmin·min.
static inline float scalar_k4(const uint8_t *w, const lmk_q8_block *x, int64_t n, int fifth) {
    const int size = fifth ? 176 : 144, q_offset = fifth ? 48 : 16;
    float total = 0;
    for (int64_t b = 0; b < n / 256; b++) {
        const uint8_t *block = w + b * size, *qh = block + 16;
        const float d = lmk_fp16(block), dmin = lmk_fp16(block + 2);
        uint8_t scales[8], mins[8];
        lmk_scales_mins(block + 4, scales, mins);
        for (int c = 0; c < 4; c++) {
            const uint8_t *q = block + q_offset + 32 * c;
            const lmk_q8_block *x0 = x + 8 * b + 2 * c, *x1 = x0 + 1;
            int sum0 = 0, sum1 = 0;
            for (int l = 0; l < 32; l++) {
                int lo = q[l] & 0xF, hi = q[l] >> 4;
                if (fifth) {
                    lo |= ((qh[l] >> (2 * c)) & 1) << 4;
                    hi |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
                }
                sum0 += lo * x0->q[l];
                sum1 += hi * x1->q[l];
            }
            total += d * (scales[2 * c] * (float)sum0 * x0->d + scales[2 * c + 1] * (float)sum1 * x1->d)
                   - dmin * (mins[2 * c] * x0->s + mins[2 * c + 1] * x1->s);
        }
    }
    return total;
}

static float scalar_q4_K(const uint8_t *w, const lmk_q8_block *x, int64_t n) { return scalar_k4(w, x, n, 0); }
static float scalar_q5_K(const uint8_t *w, const lmk_q8_block *x, int64_t n) { return scalar_k4(w, x, n, 1); }

/// Q6_K: two halves of 128; in half h, group g (32 weights) combines 4 bits of ql with 2 bits of qh;
/// value = d · scale[8h + 2g + l/16] · (q − 32).
static float scalar_q6_K(const uint8_t *w, const lmk_q8_block *x, int64_t n) {
    float total = 0;
    for (int64_t b = 0; b < n / 256; b++) {
        const uint8_t *block = w + b * 210;
        const int8_t *scales = (const int8_t *)(block + 192);
        const float d = lmk_fp16(block + 208);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = block + 64 * h, *qh = block + 128 + 32 * h;
            for (int g = 0; g < 4; g++) {
                const lmk_q8_block *xb = x + 8 * b + 4 * h + g;
                int sums[2] = {0, 0};
                for (int l = 0; l < 32; l++) {
                    const int low = g & 1 ? ql[l + 32] : ql[l];
                    const int q = ((g & 2 ? low >> 4 : low & 0xF) | (((qh[l] >> (2 * g)) & 3) << 4)) - 32;
                    sums[l / 16] += q * xb->q[l];
                }
                total += d * xb->d * (scales[8 * h + 2 * g] * (float)sums[0] + scales[8 * h + 2 * g + 1] * (float)sums[1]);
            }
        }
    }
    return total;
}

// MARK: - x86 kernels

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define LMK_TARGET __attribute__((target("avx2,fma,f16c")))
#define LMK_FN(name) avx2_##name
#define LMK_MUL_US(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))
#include "quant_dot_x86.h"
#undef LMK_TARGET
#undef LMK_FN
#undef LMK_MUL_US

#define LMK_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))
#define LMK_FN(name) vnni_##name
#define LMK_MUL_US(u, s) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (u), (s))
#include "quant_dot_x86.h"
#undef LMK_TARGET
#undef LMK_FN
#undef LMK_MUL_US
#endif

// MARK: - Dispatch

int lmk_best_isa(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
            return LMK_ISA_AVX512_VNNI;
        return LMK_ISA_AVX2;
    }
#endif
    return LMK_ISA_SCALAR;
}

/// Block size of the supported types (0: no kernel).
static int lmk_block_size(int type) {
    switch (type) {
    case 2: case 3: case 6: case 7: case 8: return 32;
    case 12: case 13: case 14: return 256;
    default: return 0;
    }
}

int lmk_qdot_supported(int ggml_type) { return lmk_block_size(ggml_type) != 0; }

static lmk_row_kernel lmk_kernel(int type, int isa) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa == LMK_ISA_AVX512_VNNI) {
        switch (type) {
        case 2: return vnni_q4_0;
        case 3: return vnni_q4_1;
        case 6: return vnni_q5_0;
        case 7: return vnni_q5_1;
        case 8: return vnni_q8_0;
        case 12: return vnni_q4_K;
        case 13: return vnni_q5_K;
        case 14: return vnni_q6_K;
        }
    } else if (isa == LMK_ISA_AVX2) {
        switch (type) {
        case 2: return avx2_q4_0;
        case 3: return avx2_q4_1;
        case 6: return avx2_q5_0;
        case 7: return avx2_q5_1;
        case 8: return avx2_q8_0;
        case 12: return avx2_q4_K;
        case 13: return avx2_q5_K;
        case 14: return avx2_q6_K;
        }
    }
#endif
    (void)isa;
    switch (type) {
    case 2: return scalar_q4_0;
    case 3: return scalar_q4_1;
    case 6: return scalar_q5_0;
    case 7: return scalar_q5_1;
    case 8: return scalar_q8_0;
    case 12: return scalar_q4_K;
    case 13: return scalar_q5_K;
    case 14: return scalar_q6_K;
    default: return 0;
    }
}

int lmk_qdot_rows(int ggml_type, const void *w, size_t row_bytes, int64_t nrows,
                  const lmk_q8_block *x, int64_t m, int64_t n, float *y, int64_t ldy, int isa) {
    const int block = lmk_block_size(ggml_type);
    lmk_row_kernel kernel = lmk_kernel(ggml_type, isa);
    if (block == 0 || kernel == 0 || n % block != 0) return -1;
    const uint8_t *rows = (const uint8_t *)w;
    for (int64_t r = 0; r < nrows; r++) {
        const uint8_t *row = rows + r * row_bytes;
        for (int64_t i = 0; i < m; i++) y[i * ldy + r] = kernel(row, x + i * (n / 32), n);
    }
    return 0;
}
