// x86 row kernels, included twice by quant_dot.c with LMK_TARGET (the instruction sets), LMK_FN
// (the name prefix) and LMK_MUL_US(u, s) (eight int32 sums of four u8·s8 products each: AVX2's
// maddubs+madd, or VNNI's dpbusd) defined. No include guard on purpose.

static inline LMK_TARGET float LMK_FN(hsum)(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline LMK_TARGET float LMK_FN(fp16)(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/// Unsigned weights (0…127) times signed activations, as 8 floats.
static inline LMK_TARGET __m256 LMK_FN(dot_us)(__m256i u, const int8_t *x) {
    return _mm256_cvtepi32_ps(LMK_MUL_US(u, _mm256_loadu_si256((const __m256i *)x)));
}

/// Signed weights times signed activations: |w| times x with w's sign.
static inline LMK_TARGET __m256 LMK_FN(dot_ss)(__m256i w, const int8_t *x) {
    const __m256i xs = _mm256_loadu_si256((const __m256i *)x);
    return _mm256_cvtepi32_ps(LMK_MUL_US(_mm256_sign_epi8(w, w), _mm256_sign_epi8(xs, w)));
}

/// 32 bytes: 0x10 where bit e of `bits` is set, else 0 (the fifth bits of Q5_0/Q5_1).
static inline LMK_TARGET __m256i LMK_FN(fifth_bits)(const uint8_t *p) {
    uint32_t bits;
    memcpy(&bits, p, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i mask = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, mask), mask), _mm256_set1_epi8(0x10));
}

/// Nibbles of 16 bytes: low ones as elements 0…15, high ones as 16…31.
static inline LMK_TARGET __m256i LMK_FN(nibbles16)(const uint8_t *p) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0F));
}

static LMK_TARGET float LMK_FN(q8_0)(const uint8_t *w, const lmk_q8_block *x, int64_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    const int64_t nb = n / 32;
    int64_t b = 0;
    for (; b + 1 < nb; b += 2) {
        const uint8_t *b0 = w + b * 34, *b1 = b0 + 34;
        const __m256 p0 = LMK_FN(dot_ss)(_mm256_loadu_si256((const __m256i *)(b0 + 2)), x[b].q);
        const __m256 p1 = LMK_FN(dot_ss)(_mm256_loadu_si256((const __m256i *)(b1 + 2)), x[b + 1].q);
        acc0 = _mm256_fmadd_ps(p0, _mm256_set1_ps(LMK_FN(fp16)(b0) * x[b].d), acc0);
        acc1 = _mm256_fmadd_ps(p1, _mm256_set1_ps(LMK_FN(fp16)(b1) * x[b + 1].d), acc1);
    }
    for (; b < nb; b++) {
        const uint8_t *b0 = w + b * 34;
        const __m256 p0 = LMK_FN(dot_ss)(_mm256_loadu_si256((const __m256i *)(b0 + 2)), x[b].q);
        acc0 = _mm256_fmadd_ps(p0, _mm256_set1_ps(LMK_FN(fp16)(b0) * x[b].d), acc0);
    }
    return LMK_FN(hsum)(_mm256_add_ps(acc0, acc1));
}

static inline LMK_TARGET float LMK_FN(q4)(const uint8_t *w, const lmk_q8_block *x, int64_t n, int with_min) {
    const int size = with_min ? 20 : 18, offset = with_min ? 4 : 2;
    __m256 acc = _mm256_setzero_ps();
    float minimum = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        const uint8_t *block = w + b * size;
        const float d = LMK_FN(fp16)(block);
        acc = _mm256_fmadd_ps(LMK_FN(dot_us)(LMK_FN(nibbles16)(block + offset), x[b].q), _mm256_set1_ps(d * x[b].d), acc);
        minimum += (with_min ? LMK_FN(fp16)(block + 2) : -8 * d) * x[b].s;
    }
    return LMK_FN(hsum)(acc) + minimum;
}

static LMK_TARGET float LMK_FN(q4_0)(const uint8_t *w, const lmk_q8_block *x, int64_t n) { return LMK_FN(q4)(w, x, n, 0); }
static LMK_TARGET float LMK_FN(q4_1)(const uint8_t *w, const lmk_q8_block *x, int64_t n) { return LMK_FN(q4)(w, x, n, 1); }

static inline LMK_TARGET float LMK_FN(q5)(const uint8_t *w, const lmk_q8_block *x, int64_t n, int with_min) {
    const int size = with_min ? 24 : 22, offset = with_min ? 4 : 2;
    __m256 acc = _mm256_setzero_ps();
    float minimum = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        const uint8_t *block = w + b * size;
        const __m256i q = _mm256_or_si256(LMK_FN(nibbles16)(block + offset + 4), LMK_FN(fifth_bits)(block + offset));
        const float d = LMK_FN(fp16)(block);
        acc = _mm256_fmadd_ps(LMK_FN(dot_us)(q, x[b].q), _mm256_set1_ps(d * x[b].d), acc);
        minimum += (with_min ? LMK_FN(fp16)(block + 2) : -16 * d) * x[b].s;
    }
    return LMK_FN(hsum)(acc) + minimum;
}

static LMK_TARGET float LMK_FN(q5_0)(const uint8_t *w, const lmk_q8_block *x, int64_t n) { return LMK_FN(q5)(w, x, n, 0); }
static LMK_TARGET float LMK_FN(q5_1)(const uint8_t *w, const lmk_q8_block *x, int64_t n) { return LMK_FN(q5)(w, x, n, 1); }

static inline LMK_TARGET float LMK_FN(k4)(const uint8_t *w, const lmk_q8_block *x, int64_t n, int fifth) {
    const int size = fifth ? 176 : 144, q_offset = fifth ? 48 : 16;
    const __m256i low4 = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float minimum = 0;
    for (int64_t b = 0; b < n / 256; b++) {
        const uint8_t *block = w + b * size;
        const float d = LMK_FN(fp16)(block), dmin = LMK_FN(fp16)(block + 2);
        uint8_t scales[8], mins[8];
        lmk_scales_mins(block + 4, scales, mins);
        const __m256i qh = fifth ? _mm256_loadu_si256((const __m256i *)(block + 16)) : _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i raw = _mm256_loadu_si256((const __m256i *)(block + q_offset + 32 * c));
            __m256i lo = _mm256_and_si256(raw, low4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
            if (fifth) {
                const __m256i m0 = _mm256_set1_epi8((char)(1 << (2 * c))), m1 = _mm256_set1_epi8((char)(2 << (2 * c)));
                lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, m0), m0), bit4));
                hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, m1), m1), bit4));
            }
            const lmk_q8_block *x0 = x + 8 * b + 2 * c, *x1 = x0 + 1;
            acc0 = _mm256_fmadd_ps(LMK_FN(dot_us)(lo, x0->q), _mm256_set1_ps(d * scales[2 * c] * x0->d), acc0);
            acc1 = _mm256_fmadd_ps(LMK_FN(dot_us)(hi, x1->q), _mm256_set1_ps(d * scales[2 * c + 1] * x1->d), acc1);
            minimum -= dmin * (mins[2 * c] * x0->s + mins[2 * c + 1] * x1->s);
        }
    }
    return LMK_FN(hsum)(_mm256_add_ps(acc0, acc1)) + minimum;
}

static LMK_TARGET float LMK_FN(q4_K)(const uint8_t *w, const lmk_q8_block *x, int64_t n) { return LMK_FN(k4)(w, x, n, 0); }
static LMK_TARGET float LMK_FN(q5_K)(const uint8_t *w, const lmk_q8_block *x, int64_t n) { return LMK_FN(k4)(w, x, n, 1); }

static LMK_TARGET float LMK_FN(q6_K)(const uint8_t *w, const lmk_q8_block *x, int64_t n) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3), offset = _mm256_set1_epi8(32);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / 256; b++) {
        const uint8_t *block = w + b * 210;
        const int8_t *scales = (const int8_t *)(block + 192);
        const float d = LMK_FN(fp16)(block + 208);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = block + 64 * h;
            const __m256i q0 = _mm256_loadu_si256((const __m256i *)ql), q1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(block + 128 + 32 * h));
            const __m256i groups[4] = {
                _mm256_or_si256(_mm256_and_si256(q0, low4), _mm256_slli_epi16(_mm256_and_si256(qh, two), 4)),
                _mm256_or_si256(_mm256_and_si256(q1, low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q0, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q1, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two), 4)),
            };
            for (int g = 0; g < 4; g++) {
                const lmk_q8_block *xb = x + 8 * b + 4 * h + g;
                const float s0 = d * xb->d * scales[8 * h + 2 * g], s1 = d * xb->d * scales[8 * h + 2 * g + 1];
                const __m256 p = LMK_FN(dot_ss)(_mm256_sub_epi8(groups[g], offset), xb->q);
                const __m256 scale = _mm256_setr_ps(s0, s0, s0, s0, s1, s1, s1, s1);
                if (g & 1) acc1 = _mm256_fmadd_ps(p, scale, acc1);
                else acc0 = _mm256_fmadd_ps(p, scale, acc0);
            }
        }
    }
    return LMK_FN(hsum)(_mm256_add_ps(acc0, acc1));
}
