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
