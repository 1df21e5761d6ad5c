// Helpers shared by the kernel files (not part of the public header).
#ifndef LMKIT_QUANT_COMMON_H
#define LMKIT_QUANT_COMMON_H

#include <stdint.h>
#include <string.h>

static inline float lmk_fp16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0) {
        float f = (float)mantissa * (1.0f / 16777216.0f);   // zero or subnormal: mantissa · 2⁻²⁴
        return sign ? -f : f;
    }
    bits = exponent == 31 ? (sign | 0x7F800000u | (mantissa << 13)) : (sign | ((exponent + 112) << 23) | (mantissa << 13));
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// The 6-bit scale and minimum of sub-block j of a Q4_K/Q5_K block (ggml's get_scale_min_k4).
static inline void lmk_scale_min(int j, const uint8_t *q, uint8_t *scale, uint8_t *min) {
    if (j < 4) {
        *scale = q[j] & 63;
        *min = q[j + 4] & 63;
    } else {
        *scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static inline void lmk_scales_mins(const uint8_t *q, uint8_t scales[8], uint8_t mins[8]) {
    for (int j = 0; j < 8; j++) lmk_scale_min(j, q, &scales[j], &mins[j]);
}

#endif
