// Quantized weights times many 8-bit activation rows (prompt processing), see lmk_qgemm in
// include/lmkit_kernels.h.
//
// Every supported type is first rewritten, per row and per 16 weights, as value = a·u + b with u an
// unsigned byte (Q8_0: q + 128, b = −128·d; Q4_0: nibble, b = −8·d; Q4_1: nibble, b = m; Q5_0 and
// Q5_1 likewise with 5 bits; Q4_K/Q5_K: a = d·scale, b = −dmin·min; Q6_K: a = d·scale, b = −32·a).
// Then Σ w·x over 16 weights = a·dx·Σ u·q + b·dx·Σ q, so one VNNI dot product of unsigned weight
// bytes with signed activation bytes serves every type. Eight weight rows are interleaved four
// bytes at a time, so that lane j of a dot product accumulates row j: a block of 32 activations
// is broadcast four bytes at a time against eight row vectors.
#include "lmkit_kernels.h"
#include "quant_common.h"

#include <stdlib.h>

void lmk_q8_half_sums(const lmk_q8_block *x, int64_t blocks, float *out) {
    for (int64_t b = 0; b < blocks; b++) {
        int lo = 0, hi = 0;
        for (int j = 0; j < 16; j++) { lo += x[b].q[j]; hi += x[b].q[j + 16]; }
        out[2 * b] = x[b].d * (float)lo;
        out[2 * b + 1] = x[b].d * (float)hi;
    }
}

/// One row of `n` weights as bytes `u` and, per 16 weights, `a` and `b` (value = a·u + b).
static void unpack_row(int type, const uint8_t *w, int64_t n, uint8_t *u, float *a, float *b) {
    switch (type) {
    case 8:   // Q8_0
        for (int64_t k = 0; k < n / 32; k++) {
            const uint8_t *block = w + k * 34;
            const float d = lmk_fp16(block);
            for (int j = 0; j < 32; j++) u[32 * k + j] = (uint8_t)((int)(int8_t)block[2 + j] + 128);
            a[2 * k] = a[2 * k + 1] = d;
            b[2 * k] = b[2 * k + 1] = -128 * d;
        }
        return;
    case 2: case 3: case 6: case 7: {   // Q4_0, Q4_1, Q5_0, Q5_1
        const int with_min = type == 3 || type == 7, five = type == 6 || type == 7;
        const int size = (five ? 22 : 18) + (with_min ? 2 : 0), offset = with_min ? 4 : 2;
        for (int64_t k = 0; k < n / 32; k++) {
            const uint8_t *block = w + k * size;
            const uint8_t *q = block + offset + (five ? 4 : 0);
            uint32_t qh = 0;
            if (five) memcpy(&qh, block + offset, 4);
            const float d = lmk_fp16(block);
            for (int j = 0; j < 16; j++) {
                u[32 * k + j] = (uint8_t)((q[j] & 0xF) | (five ? ((qh >> j) & 1) << 4 : 0));
                u[32 * k + j + 16] = (uint8_t)((q[j] >> 4) | (five ? ((qh >> (j + 16)) & 1) << 4 : 0));
            }
            const float bias = with_min ? lmk_fp16(block + 2) : -(five ? 16 : 8) * d;
            a[2 * k] = a[2 * k + 1] = d;
            b[2 * k] = b[2 * k + 1] = bias;
        }
        return;
    }
    case 12: case 13: {   // Q4_K, Q5_K
        const int fifth = type == 13, size = fifth ? 176 : 144, q_offset = fifth ? 48 : 16;
        for (int64_t s = 0; s < n / 256; s++) {
            const uint8_t *block = w + s * size, *qh = block + 16;
            const float d = lmk_fp16(block), dmin = lmk_fp16(block + 2);
            uint8_t scales[8], mins[8];
            lmk_scales_mins(block + 4, scales, mins);
            for (int c = 0; c < 4; c++) {
                const uint8_t *q = block + q_offset + 32 * c;
                uint8_t *lo = u + 256 * s + 64 * c, *hi = lo + 32;
                for (int l = 0; l < 32; l++) {
                    lo[l] = (uint8_t)((q[l] & 0xF) | (fifth ? ((qh[l] >> (2 * c)) & 1) << 4 : 0));
                    hi[l] = (uint8_t)((q[l] >> 4) | (fifth ? ((qh[l] >> (2 * c + 1)) & 1) << 4 : 0));
                }
                for (int half = 0; half < 2; half++) {
                    const int64_t k0 = 16 * s + 4 * c;   // index of 16-weight groups
                    a[k0 + half] = d * scales[2 * c];
                    b[k0 + half] = -dmin * mins[2 * c];
                    a[k0 + 2 + half] = d * scales[2 * c + 1];
                    b[k0 + 2 + half] = -dmin * mins[2 * c + 1];
                }
            }
        }
        return;
    }
    case 14:   // Q6_K
        for (int64_t s = 0; s < n / 256; s++) {
            const uint8_t *block = w + s * 210;
            const int8_t *scales = (const int8_t *)(block + 192);
            const float d = lmk_fp16(block + 208);
            for (int h = 0; h < 2; h++) {
                const uint8_t *ql = block + 64 * h, *qh = block + 128 + 32 * h;
                for (int g = 0; g < 4; g++) {
                    uint8_t *out = u + 256 * s + 128 * h + 32 * g;
                    for (int l = 0; l < 32; l++) {
                        const int low = g & 1 ? ql[l + 32] : ql[l];
                        out[l] = (uint8_t)((g & 2 ? low >> 4 : low & 0xF) | (((qh[l] >> (2 * g)) & 3) << 4));
                    }
                }
            }
            for (int k = 0; k < 16; k++) {
                a[16 * s + k] = d * scales[k];
                b[16 * s + k] = -32 * d * scales[k];
            }
        }
        return;
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define LMK_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))

/// A tile of 8 interleaved weight rows (`tu`: per block of 32, 8 groups of [8 rows × 4 bytes];
/// `ta`/`tb`: per 16 weights, 8 floats) times activation rows `x` → y (first `rows` lanes kept).
static LMK_VNNI void tile_kernel(const uint8_t *tu, const float *ta, const float *tb, int64_t nb,
                                 const lmk_q8_block *x, const float *half_sums, int64_t m,
                                 float *y, int64_t ldy, int rows) {
    for (int64_t i0 = 0; i0 < m; i0 += 4) {
        const int rn = m - i0 < 4 ? (int)(m - i0) : 4;
        __m256 acc[4], accb[4];
        for (int r = 0; r < 4; r++) { acc[r] = _mm256_setzero_ps(); accb[r] = _mm256_setzero_ps(); }
        for (int64_t k = 0; k < nb; k++) {
            const __m256i *wv = (const __m256i *)(tu + 256 * k);
            const __m256i w0 = _mm256_load_si256(wv), w1 = _mm256_load_si256(wv + 1), w2 = _mm256_load_si256(wv + 2), w3 = _mm256_load_si256(wv + 3);
            const __m256i w4 = _mm256_load_si256(wv + 4), w5 = _mm256_load_si256(wv + 5), w6 = _mm256_load_si256(wv + 6), w7 = _mm256_load_si256(wv + 7);
            const __m256 alo = _mm256_load_ps(ta + 16 * k), ahi = _mm256_load_ps(ta + 16 * k + 8);
            const __m256 blo = _mm256_load_ps(tb + 16 * k), bhi = _mm256_load_ps(tb + 16 * k + 8);
            for (int r = 0; r < rn; r++) {
                const lmk_q8_block *xb = x + (i0 + r) * nb + k;
                int32_t q4[8];
                memcpy(q4, xb->q, 32);
                __m256i lo = _mm256_dpbusd_epi32(_mm256_setzero_si256(), w0, _mm256_set1_epi32(q4[0]));
                lo = _mm256_dpbusd_epi32(lo, w1, _mm256_set1_epi32(q4[1]));
                lo = _mm256_dpbusd_epi32(lo, w2, _mm256_set1_epi32(q4[2]));
                lo = _mm256_dpbusd_epi32(lo, w3, _mm256_set1_epi32(q4[3]));
                __m256i hi = _mm256_dpbusd_epi32(_mm256_setzero_si256(), w4, _mm256_set1_epi32(q4[4]));
                hi = _mm256_dpbusd_epi32(hi, w5, _mm256_set1_epi32(q4[5]));
                hi = _mm256_dpbusd_epi32(hi, w6, _mm256_set1_epi32(q4[6]));
                hi = _mm256_dpbusd_epi32(hi, w7, _mm256_set1_epi32(q4[7]));
                const __m256 d = _mm256_set1_ps(xb->d);
                acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lo), _mm256_mul_ps(alo, d), acc[r]);
                acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hi), _mm256_mul_ps(ahi, d), acc[r]);
                const float *hs = half_sums + 2 * ((i0 + r) * nb + k);
                accb[r] = _mm256_fmadd_ps(blo, _mm256_set1_ps(hs[0]), accb[r]);
                accb[r] = _mm256_fmadd_ps(bhi, _mm256_set1_ps(hs[1]), accb[r]);
            }
        }
        for (int r = 0; r < rn; r++) {
            const __m256 v = _mm256_add_ps(acc[r], accb[r]);
            float *out = y + (i0 + r) * ldy;
            if (rows == 8) {
                _mm256_storeu_ps(out, v);
            } else {
                float lanes[8];
                _mm256_storeu_ps(lanes, v);
                for (int j = 0; j < rows; j++) out[j] = lanes[j];
            }
        }
    }
}
#endif

int lmk_qgemm(int ggml_type, const void *w, size_t row_bytes, int64_t nrows,
              const lmk_q8_block *x, const float *half_sums, int64_t m, int64_t n, float *y, int64_t ldy) {
#if defined(__x86_64__) || defined(__i386__)
    if (lmk_best_isa() != LMK_ISA_AVX512_VNNI || !lmk_qdot_supported(ggml_type)) return -1;
    const int block = ggml_type == 12 || ggml_type == 13 || ggml_type == 14 ? 256 : 32;
    if (n % block != 0) return -1;
    const int64_t nb = n / 32;
    uint8_t *u = malloc((size_t)(8 * n)), *tu = aligned_alloc(64, (size_t)(8 * n));
    float *a = malloc(sizeof(float) * (size_t)(8 * (n / 16))), *b = malloc(sizeof(float) * (size_t)(8 * (n / 16)));
    float *ta = aligned_alloc(64, sizeof(float) * (size_t)(8 * (n / 16) + 16)), *tb = aligned_alloc(64, sizeof(float) * (size_t)(8 * (n / 16) + 16));
    if (!u || !tu || !a || !b || !ta || !tb) { free(u); free(tu); free(a); free(b); free(ta); free(tb); return -2; }
    const uint8_t *rows = (const uint8_t *)w;
    for (int64_t r0 = 0; r0 < nrows; r0 += 8) {
        const int count = nrows - r0 < 8 ? (int)(nrows - r0) : 8;
        memset(u, 0, (size_t)(8 * n));
        memset(a, 0, sizeof(float) * (size_t)(8 * (n / 16)));
        memset(b, 0, sizeof(float) * (size_t)(8 * (n / 16)));
        for (int j = 0; j < count; j++) unpack_row(ggml_type, rows + (r0 + j) * row_bytes, n, u + j * n, a + j * (n / 16), b + j * (n / 16));
        // Interleave: block k, group g (4 bytes), row j.
        for (int64_t k = 0; k < nb; k++)
            for (int g = 0; g < 8; g++)
                for (int j = 0; j < 8; j++) memcpy(tu + 256 * k + 32 * g + 4 * j, u + j * n + 32 * k + 4 * g, 4);
        for (int64_t h = 0; h < n / 16; h++)
            for (int j = 0; j < 8; j++) { ta[8 * h + j] = a[j * (n / 16) + h]; tb[8 * h + j] = b[j * (n / 16) + h]; }
        tile_kernel(tu, ta, tb, nb, x, half_sums, m, y + r0, ldy, count);
    }
    free(u); free(tu); free(a); free(b); free(ta); free(tb);
    return 0;
#else
    (void)ggml_type; (void)w; (void)row_bytes; (void)nrows; (void)x; (void)half_sums; (void)m; (void)n; (void)y; (void)ldy;
    return -1;
#endif
}
