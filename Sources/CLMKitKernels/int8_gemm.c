// Dynamic int8 linear layers (PyTorch's quantize_dynamic scheme, as fbgemm computes it), see
// lmk_i8_* in include/lmkit_kernels.h.
//
// Weights are signed bytes with a scale per matrix or per row; activations are quantized per call to
// unsigned bytes (0…127 or 0…255) with a scale and a zero point per matrix or per row. Then
// y = sx·sw·(Σ xq·wq − zx·Σ wq) + b, the sum over xq·wq in 32-bit integers. Weight rows are packed in panels of 16 rows, 4 bytes of each
// row after each other (64 bytes per group of 4 inputs), so that lane j of one AVX-512 VNNI dot
// product (vpdpbusd: 4 unsigned × 4 signed bytes into a 32-bit lane) accumulates row j; 4 bytes of
// an activation row are broadcast against the panel. AVX2 widens both to 16 bits first (vpmaddubsw's
// saturating 16-bit pair sums would overflow on 8-bit activations: 255·128·2 > 32767).
#include "lmkit_kernels.h"

#include <math.h>
#include <string.h>

#define LMK_I8_PANEL 16

size_t lmk_i8_packed_bytes(int64_t n, int64_t k) {
    const int64_t panels = (n + LMK_I8_PANEL - 1) / LMK_I8_PANEL, kp = (k + 3) / 4 * 4;
    return (size_t)(panels * LMK_I8_PANEL * kp);
}

void lmk_i8_pack(const int8_t *w, int64_t n, int64_t k, int8_t *packed, int32_t *row_sums) {
    const int64_t groups = (k + 3) / 4;
    memset(packed, 0, lmk_i8_packed_bytes(n, k));
    for (int64_t r = 0; r < n; r++) {
        int32_t sum = 0;
        int8_t *panel = packed + (r / LMK_I8_PANEL) * LMK_I8_PANEL * groups * 4;
        for (int64_t c = 0; c < k; c++) {
            panel[(c / 4) * 4 * LMK_I8_PANEL + (r % LMK_I8_PANEL) * 4 + c % 4] = w[r * k + c];
            sum += w[r * k + c];
        }
        row_sums[r] = sum;
    }
}

void lmk_i8_choose_params(float min, float max, int32_t qmax, float *scale_out, int32_t *zero_point) {
    const double qmin = 0, top = qmax;
    double low = min < 0 ? min : 0, high = max > 0 ? max : 0;
    double scale = (high - low) / (top - qmin);
    if ((float)scale == 0.0f || isinf(1.0f / (float)scale)) scale = 0.1;
    const double smallest = (double)6.1e-5f;   // fbgemm's SMALL_SCALE_THRESHOLD
    if (scale < smallest) {
        const double original = scale;
        scale = smallest;
        if (low == 0) high = smallest * (top - qmin);
        else if (high == 0) low = -smallest * (top - qmin);
        else {
            const float amplifier = (float)(smallest / original);
            low *= amplifier;
            high *= amplifier;
        }
    }
    const double from_min = qmin - low / scale, from_max = top - high / scale;
    const double error_min = fabs(qmin) + fabs(low / scale), error_max = fabs(top) + fabs(high / scale);
    const double initial = error_min < error_max ? from_min : from_max;
    *zero_point = initial < qmin ? (int32_t)qmin : initial > top ? qmax : (int32_t)nearbyint(initial);
    *scale_out = (float)scale;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

static __attribute__((target("avx2,fma"))) void minmax_avx2(const float *x, int64_t count, float *min, float *max) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        lo = _mm256_min_ps(lo, v);
        hi = _mm256_max_ps(hi, v);
    }
    float l[8], h[8];
    _mm256_storeu_ps(l, lo);
    _mm256_storeu_ps(h, hi);
    float a = 0, b = 0;
    for (int j = 0; j < 8; j++) { a = l[j] < a ? l[j] : a; b = h[j] > b ? h[j] : b; }
    for (; i < count; i++) { a = x[i] < a ? x[i] : a; b = x[i] > b ? x[i] : b; }
    *min = a;
    *max = b;
}

static __attribute__((target("avx2,fma"))) void quantize_row_avx2(const float *row, int64_t k, float inverse, float zero,
                                                                   float top, uint8_t *out) {
    const __m256 inv = _mm256_set1_ps(inverse), zp = _mm256_set1_ps(zero), limit = _mm256_set1_ps(top);
    int64_t c = 0;
    for (; c + 8 <= k; c += 8) {
        __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(row + c), inv, zp);
        v = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), limit);   // max first: NaN → 0
        const __m256i q = _mm256_cvtps_epi32(v);                            // round half to even
        const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        _mm_storel_epi64((__m128i *)(out + c), _mm_packus_epi16(w, w));
    }
    for (; c < k; c++) {
        float v = fmaf(row[c], inverse, zero);
        v = v > 0 ? (v < top ? v : top) : 0;
        out[c] = (uint8_t)nearbyintf(v);
    }
}

static int has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

void lmk_i8_minmax(const float *x, int64_t count, float *min, float *max) {
#if defined(__x86_64__) || defined(__i386__)
    if (has_avx2_fma()) {
        minmax_avx2(x, count, min, max);
        return;
    }
#endif
    float lo = 0, hi = 0;   // the range always holds 0 (PyTorch's dynamic ranges do)
    for (int64_t i = 0; i < count; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    *min = lo;
    *max = hi;
}

void lmk_i8_quantize_rows(const float *x, int64_t m, int64_t k, int64_t ldq, int32_t qmax, int per_row,
                          float *scales, int32_t *zeros, uint8_t *q) {
#if defined(__x86_64__) || defined(__i386__)
    const int vector = has_avx2_fma();
#else
    const int vector = 0;
#endif
    const float top = (float)qmax;
    for (int64_t i = 0; i < m; i++) {
        const float *row = x + i * k;
        uint8_t *out = q + i * ldq;
        if (per_row) {
            float lo, hi;
#if defined(__x86_64__) || defined(__i386__)
            if (vector) minmax_avx2(row, k, &lo, &hi);
            else
#endif
                lmk_i8_minmax(row, k, &lo, &hi);
            lmk_i8_choose_params(lo, hi, qmax, &scales[i], &zeros[i]);
        }
        const float inverse = 1.0f / scales[i], zero = (float)zeros[i];
#if defined(__x86_64__) || defined(__i386__)
        if (vector) {
            quantize_row_avx2(row, k, inverse, zero, top, out);
        } else
#endif
        {
            for (int64_t c = 0; c < k; c++) {
                float v = fmaf(row[c], inverse, zero);   // one rounding, as fbgemm's vfmadd
                v = v > 0 ? (v < top ? v : top) : 0;     // NaN → 0
                out[c] = (uint8_t)nearbyintf(v);
            }
        }
        for (int64_t c = k; c < ldq; c++) out[c] = 0;
    }
    (void)vector;
}

/// The scales and offsets of one product: activation row i, output columns j0 ….
typedef struct {
    const int32_t *row_sums;   // at j0
    const float *w_scales;     // at j0
    const float *bias;         // at j0, or NULL
    float x_scale;
    int32_t x_zero;
} epilogue;

/// y[j] = x_scale·w_scale[j]·(acc[j] − x_zero·row_sums[j]) + bias[j] for j < count.
static inline void store_row(const int32_t *acc, epilogue e, float *y, int count) {
    for (int j = 0; j < count; j++) {
        const float v = (float)(acc[j] - e.x_zero * e.row_sums[j]) * (e.x_scale * e.w_scales[j]);
        y[j] = e.bias ? v + e.bias[j] : v;
    }
}

static epilogue at(const lmk_i8_operands *o, int64_t i, int64_t j0) {
    epilogue e = {o->row_sums + j0, o->w_scales + j0, o->bias ? o->bias + j0 : NULL, o->x_scales[i], o->x_zeros[i]};
    return e;
}

static void gemm_scalar(const lmk_i8_operands *o, int64_t groups, int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; p++) {
        const int8_t *panel = o->packed + p * LMK_I8_PANEL * groups * 4;
        const int64_t j0 = p * LMK_I8_PANEL;
        const int count = o->n - j0 < LMK_I8_PANEL ? (int)(o->n - j0) : LMK_I8_PANEL;
        for (int64_t i = 0; i < o->m; i++) {
            int32_t acc[LMK_I8_PANEL] = {0};
            const uint8_t *row = o->x + i * o->ldx;
            for (int64_t g = 0; g < groups; g++)
                for (int j = 0; j < LMK_I8_PANEL; j++)
                    for (int b = 0; b < 4; b++) acc[j] += (int32_t)row[4 * g + b] * panel[64 * g + 4 * j + b];
            store_row(acc, at(o, i, j0), o->y + i * o->ldy + j0, count);
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#define LMK_I8_VNNI __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512vnni")))
#define LMK_I8_AVX2 __attribute__((target("avx2,fma")))

/// R activation rows × P panels (16·P outputs) on AVX-512 VNNI: R·P accumulators of 16 lanes.
#define VNNI_TILE(R, P)                                                                                        \
    static LMK_I8_VNNI void vnni_##R##x##P(const uint8_t *x, int64_t ldx, const int8_t *panel, int64_t groups, \
                                           int32_t out[][2 * LMK_I8_PANEL]) {                                  \
        __m512i acc[R][P];                                                                                     \
        for (int r = 0; r < R; r++)                                                                            \
            for (int p = 0; p < P; p++) acc[r][p] = _mm512_setzero_si512();                                    \
        const int64_t panel_bytes = LMK_I8_PANEL * groups * 4;                                                 \
        for (int64_t g = 0; g < groups; g++) {                                                                 \
            __m512i w[P];                                                                                      \
            for (int p = 0; p < P; p++) w[p] = _mm512_loadu_si512(panel + p * panel_bytes + 64 * g);           \
            for (int r = 0; r < R; r++) {                                                                      \
                int32_t four;                                                                                  \
                memcpy(&four, x + r * ldx + 4 * g, 4);                                                         \
                const __m512i xb = _mm512_set1_epi32(four);                                                    \
                for (int p = 0; p < P; p++) acc[r][p] = _mm512_dpbusd_epi32(acc[r][p], xb, w[p]);              \
            }                                                                                                  \
        }                                                                                                      \
        for (int r = 0; r < R; r++)                                                                            \
            for (int p = 0; p < P; p++) _mm512_storeu_si512(out[r] + p * LMK_I8_PANEL, acc[r][p]);            \
    }
VNNI_TILE(6, 2)
VNNI_TILE(1, 2)
VNNI_TILE(6, 1)
VNNI_TILE(1, 1)

static LMK_I8_VNNI void gemm_vnni(const lmk_i8_operands *o, int64_t groups, int64_t p0, int64_t p1) {
    const int64_t panel_bytes = LMK_I8_PANEL * groups * 4;
    for (int64_t p = p0; p < p1; p += 2) {
        const int pairs = p + 1 < p1 ? 2 : 1;
        const int8_t *panel = o->packed + p * panel_bytes;
        const int64_t j0 = p * LMK_I8_PANEL;
        const int64_t width = o->n - j0 < pairs * LMK_I8_PANEL ? o->n - j0 : pairs * LMK_I8_PANEL;
        int32_t acc[6][2 * LMK_I8_PANEL];
        for (int64_t i = 0; i < o->m;) {
            const int rows = o->m - i >= 6 ? 6 : 1;
            const uint8_t *x = o->x + i * o->ldx;
            if (rows == 6 && pairs == 2) vnni_6x2(x, o->ldx, panel, groups, acc);
            else if (rows == 6) vnni_6x1(x, o->ldx, panel, groups, acc);
            else if (pairs == 2) vnni_1x2(x, o->ldx, panel, groups, acc);
            else vnni_1x1(x, o->ldx, panel, groups, acc);
            for (int r = 0; r < rows; r++) store_row(acc[r], at(o, i + r, j0), o->y + (i + r) * o->ldy + j0, (int)width);
            i += rows;
        }
    }
}

/// AVX2: 4 activation rows × one panel. Both operands are widened to 16 bits (vpmaddwd sums pairs
/// of 16-bit products into 32 bits exactly), 4 panel rows at a time; vphaddd then adds the two pairs
/// of each row, leaving rows in the order 0 1 4 5 2 3 6 7 within each 8-row half.
static LMK_I8_AVX2 void gemm_avx2(const lmk_i8_operands *o, int64_t groups, int64_t p0, int64_t p1) {
    static const int order[8] = {0, 1, 4, 5, 2, 3, 6, 7};
    const int64_t panel_bytes = LMK_I8_PANEL * groups * 4;
    for (int64_t p = p0; p < p1; p++) {
        const int8_t *panel = o->packed + p * panel_bytes;
        const int64_t j0 = p * LMK_I8_PANEL;
        const int width = o->n - j0 < LMK_I8_PANEL ? (int)(o->n - j0) : LMK_I8_PANEL;
        for (int64_t i = 0; i < o->m; i += 4) {
            const int rows = o->m - i < 4 ? (int)(o->m - i) : 4;
            __m256i lo[4], hi[4];
            for (int r = 0; r < 4; r++) { lo[r] = _mm256_setzero_si256(); hi[r] = _mm256_setzero_si256(); }
            for (int64_t g = 0; g < groups; g++) {
                const int8_t *w = panel + 64 * g;
                const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w));        // rows 0-3
                const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 16)));  // rows 4-7
                const __m256i w2 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 32)));  // rows 8-11
                const __m256i w3 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 48)));  // rows 12-15
                for (int r = 0; r < rows; r++) {
                    const uint8_t *xr = o->x + (i + r) * o->ldx + 4 * g;
                    const int64_t four = (int64_t)xr[0] | (int64_t)xr[1] << 16 | (int64_t)xr[2] << 32 | (int64_t)xr[3] << 48;
                    const __m256i xb = _mm256_set1_epi64x(four);
                    lo[r] = _mm256_add_epi32(lo[r], _mm256_hadd_epi32(_mm256_madd_epi16(w0, xb), _mm256_madd_epi16(w1, xb)));
                    hi[r] = _mm256_add_epi32(hi[r], _mm256_hadd_epi32(_mm256_madd_epi16(w2, xb), _mm256_madd_epi16(w3, xb)));
                }
            }
            for (int r = 0; r < rows; r++) {
                int32_t lanes[LMK_I8_PANEL], acc[LMK_I8_PANEL];
                _mm256_storeu_si256((__m256i *)lanes, lo[r]);
                _mm256_storeu_si256((__m256i *)(lanes + 8), hi[r]);
                for (int j = 0; j < 8; j++) { acc[order[j]] = lanes[j]; acc[8 + order[j]] = lanes[8 + j]; }
                store_row(acc, at(o, i + r, j0), o->y + (i + r) * o->ldy + j0, width);
            }
        }
    }
}
#endif

void lmk_i8_gemm(const lmk_i8_operands *o, int64_t p0, int64_t p1, int isa) {
    const int64_t groups = (o->k + 3) / 4;
#if defined(__x86_64__) || defined(__i386__)
    if (isa == LMK_ISA_AVX512_VNNI) {
        gemm_vnni(o, groups, p0, p1);
        return;
    }
    if (isa == LMK_ISA_AVX2) {
        gemm_avx2(o, groups, p0, p1);
        return;
    }
#endif
    (void)isa;
    gemm_scalar(o, groups, p0, p1);
}
