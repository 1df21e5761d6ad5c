// Integer dot products on GGUF quantized blocks, for LMKit's QuantizedMatrix.
//
// Activations are quantized to 8 bits per block of 32 (one float scale per block, as llama.cpp's
// Q8_0), and each weight row is multiplied with them in integers (AVX2, or AVX-512 VNNI where the
// CPU has it; a portable scalar version elsewhere). This is how the quantized formats are fast on
// CPUs: a 32-value block becomes one integer dot product and one float multiply-add.
#ifndef LMKIT_KERNELS_H
#define LMKIT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 32 activations: x ≈ d · q, with s = d · Σq (the block's sum, for formats with a minimum).
typedef struct {
    float d;
    float s;
    int8_t q[32];
} lmk_q8_block;

/// Instruction sets the kernels can use.
enum {
    LMK_ISA_SCALAR = 0,
    LMK_ISA_AVX2 = 1,
    LMK_ISA_AVX512_VNNI = 2,
};

/// The best instruction set this CPU supports.
int lmk_best_isa(void);

/// Quantizes `n` floats (`n` a multiple of 32) into `n / 32` blocks.
void lmk_quantize_q8(const float *x, lmk_q8_block *y, int64_t n);

/// Whether `ggml_type` (ggml's type number) has an integer kernel: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
/// Q4_K, Q5_K, Q6_K.
int lmk_qdot_supported(int ggml_type);

/// For weight rows r in 0..<nrows (row r at `w + r * row_bytes`, `n` weights each) and activation
/// rows i in 0..<m (row i at `x + i * (n / 32)`): y[i * ldy + r] = Σ w·x.
/// Returns 0, or -1 when the type has no kernel or `n` does not fill its blocks.
int lmk_qdot_rows(int ggml_type, const void *w, size_t row_bytes, int64_t nrows,
                  const lmk_q8_block *x, int64_t m, int64_t n, float *y, int64_t ldy, int isa);

/// The same products for many activation rows (prompt processing), register-tiled: 8 weight rows
/// are expanded once into unsigned bytes interleaved 4 by 4 (plus a scale and an offset per row and
/// 16 weights), then multiplied with 4 activation rows at a time by AVX-512 VNNI dot products, each
/// lane holding one weight row. Needs `lmk_best_isa() == LMK_ISA_AVX512_VNNI`; returns -1 otherwise,
/// or when the type has no kernel. `x` as for `lmk_qdot_rows`.
/// `half_sums` holds, for each activation block, d·Σq over its first and its second 16 values
/// (`lmk_q8_half_sums`).
int lmk_qgemm(int ggml_type, const void *w, size_t row_bytes, int64_t nrows,
              const lmk_q8_block *x, const float *half_sums, int64_t m, int64_t n, float *y, int64_t ldy);

/// d·Σq over each half of `blocks` activation blocks, into `out` (2 floats per block).
void lmk_q8_half_sums(const lmk_q8_block *x, int64_t blocks, float *out);

// Dynamic int8 linear layers (PyTorch's quantize_dynamic and finer variants): signed byte weights
// with a scale per matrix or per row, activations quantized per call to unsigned bytes (0…qmax) with
// a scale and a zero point per matrix or per row.

/// Bytes of `n` weight rows of `k` bytes packed for `lmk_i8_gemm` (panels of 16 rows, `k` rounded
/// up to a multiple of 4, both padded with zeros).
size_t lmk_i8_packed_bytes(int64_t n, int64_t k);

/// Packs `w` (`n` rows of `k` signed bytes) into `packed` (`lmk_i8_packed_bytes(n, k)` bytes) and
/// writes each row's sum of bytes to `row_sums` (`n` values).
void lmk_i8_pack(const int8_t *w, int64_t n, int64_t k, int8_t *packed, int32_t *row_sums);

/// The scale and zero point fbgemm's ChooseQuantizationParams picks for the range min…max on
/// 0…qmax: the range widened to hold 0, the scale computed in double and floored at 6.1e-5 (the
/// range stretched to match), the zero point from the end that loses less, rounded and clamped.
void lmk_i8_choose_params(float min, float max, int32_t qmax, float *scale, int32_t *zero_point);

/// min(0, smallest) and max(0, largest) of `count` floats.
void lmk_i8_minmax(const float *x, int64_t count, float *min, float *max);

/// q = clamp(round_half_even(x / scale + zero_point), 0, qmax) for `m` rows of `k` floats, written
/// `ldq` bytes apart (bytes `k ..< ldq` set to 0), with row i's `scales[i]` and `zeros[i]`; when
/// `per_row` is set they are first chosen from the row's own range (`lmk_i8_choose_params`).
void lmk_i8_quantize_rows(const float *x, int64_t m, int64_t k, int64_t ldq, int32_t qmax, int per_row,
                          float *scales, int32_t *zeros, uint8_t *q);

/// One product y = x·Wᵀ (+ bias) of quantized operands.
typedef struct {
    const uint8_t *x;          // m rows, ldx bytes apart (ldx ≥ k rounded up to 4, zeros after k)
    int64_t m, ldx;
    const float *x_scales;     // per activation row
    const int32_t *x_zeros;    // per activation row
    const int8_t *packed;      // lmk_i8_pack of n rows of k bytes
    int64_t n, k;
    const int32_t *row_sums;   // per weight row
    const float *w_scales;     // per weight row
    const float *bias;         // n values, or NULL
    float *y;                  // m rows, ldy floats apart
    int64_t ldy;
} lmk_i8_operands;

/// y[i·ldy + j] = x_scales[i]·w_scales[j]·(Σ_c x[i, c]·w[j, c] − x_zeros[i]·row_sums[j]) + bias[j]
/// for every activation row i and the outputs j of panels p0 ..< p1 (16 outputs a panel, j < n).
/// `isa` is one of `LMK_ISA_*`.
void lmk_i8_gemm(const lmk_i8_operands *operands, int64_t p0, int64_t p1, int isa);

/// A hint to the CPU that this thread is spin-waiting (x86 `pause`, ARM `yield`).
static inline void lmk_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#ifdef __cplusplus
}
#endif

#endif
