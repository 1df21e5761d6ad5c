/// Scaled dot-product attention, fused: scores, scale, masks and softmax in one op with a
/// hand-written backward (Vaswani et al. 2017, "Attention Is All You Need", eq. 1).
///
/// Mirrors `torch.nn.functional.scaled_dot_product_attention` with `enable_gqa=True`:
/// query head `h` reads key/value head `h / (heads / kvHeads)`.
extension Tensor {
    /// Attention of `query: [B, H, Tq, D]` over `key: [B, Hkv, Tk, D]`, `value: [B, Hkv, Tk, Dv]`.
    ///
    /// - Parameters:
    ///   - causal: query `i` sees keys `j ≤ i + (Tk − Tq)` (the queries are the last `Tq` positions,
    ///     which is what a KV cache needs).
    ///   - mask: an additive mask broadcastable to `[B, H, Tq, Tk]` (0 to keep, −∞ to drop), e.g. key
    ///     padding from ``attentionMask(padding:dtype:)``. A row with every key masked gives zeros. The mask
    ///     is a constant: no gradient flows into it.
    ///   - scale: defaults to 1/√D.
    /// - Returns: `[B, H, Tq, Dv]`.
    public static func scaledDotProductAttention(
        query: Tensor, key: Tensor, value: Tensor, causal: Bool = false,
        mask: Tensor? = nil, scale: Double? = nil
    ) -> Tensor {
        attention(query: query, key: key, value: value, causal: causal, mask: mask, scale: scale).output
    }

    /// ``scaledDotProductAttention(query:key:value:causal:mask:scale:)`` that also returns the attention
    /// probabilities `[B, H, Tq, Tk]` (what Hugging Face's `output_attentions=True` gives). The weights
    /// are a constant: gradients flow through the output only.
    public static func scaledDotProductAttentionWithWeights(
        query: Tensor, key: Tensor, value: Tensor, causal: Bool = false,
        mask: Tensor? = nil, scale: Double? = nil
    ) -> (output: Tensor, weights: Tensor) {
        attention(query: query, key: key, value: value, causal: causal, mask: mask, scale: scale)
    }

    private static func attention(
        query: Tensor, key: Tensor, value: Tensor, causal: Bool, mask: Tensor?,
        scale: Double?
    ) -> (output: Tensor, weights: Tensor) {
        precondition(
            query.rank == 4 && key.rank == 4 && value.rank == 4,
            "attention needs [B, H, T, D] tensors, got \(query.shape), \(key.shape), \(value.shape)")
        let (b, h, tq, d) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
        let (hkv, tk, dv) = (key.shape[1], key.shape[2], value.shape[3])
        precondition(
            key.shape == [b, hkv, tk, d] && value.shape == [b, hkv, tk, dv] && hkv > 0 && h % hkv == 0,
            "attention: query \(query.shape), key \(key.shape), value \(value.shape) do not fit (heads must be a multiple of kv heads)")
        precondition(query.dtype == key.dtype && key.dtype == value.dtype && query.dtype.isComputable, "attention: operand types differ")
        let q = query.matrixLayout() == nil ? query.contiguous() : query
        let k = key.matrixLayout() == nil ? key.contiguous() : key
        let v = value.matrixLayout() == nil ? value.contiguous() : value
        let s = scale ?? 1 / Double(d).squareRoot()
        let probs = Tensor.empty([b, h, tq, tk], dtype: query.dtype)
        var out = Tensor.empty([b, h, tq, dv], dtype: query.dtype)
        func run<S: TensorScalar>(_: S.Type) {
            let geo = AttentionGeometry(q: q, k: k, v: v, heads: h, kvHeads: hkv)
            let p = probs.pointer(S.self), o = out.pointer(S.self)
            // Phase 1: raw scores Q·Kᵀ for every (batch, head).
            BLAS.forEachItem(b * h, flopsPerItem: 2 * tq * tk * d) { item in
                let (qo, ko, _) = geo.offsets(item)
                BLAS.gemm(
                    transA: geo.q.t, transB: !geo.k.t, m: tq, n: tk, k: d, alpha: 1,
                    a: q.pointer(S.self) + qo, lda: geo.q.ld, b: k.pointer(S.self) + ko, ldb: geo.k.ld,
                    beta: 0, c: p + item * tq * tk, ldc: tk)
            }
            // Phase 2: scale, mask, softmax, row by row.
            AttentionKernels.maskedSoftmax(p, batch: b, heads: h, tq: tq, tk: tk, scale: S(s), causal: causal, mask: mask)
            // Phase 3: P·V.
            BLAS.forEachItem(b * h, flopsPerItem: 2 * tq * tk * dv) { item in
                let (_, _, vo) = geo.offsets(item)
                BLAS.gemm(
                    transA: false, transB: geo.v.t, m: tq, n: dv, k: tk, alpha: 1, a: p + item * tq * tk, lda: tk,
                    b: v.pointer(S.self) + vo, ldb: geo.v.ld, beta: 0, c: o + item * tq * dv, ldc: dv)
            }
        }
        if query.dtype == .float32 { run(Float.self) } else { run(Double.self) }
        Tensor.record(
            &out, .attention(q: q.detached(), k: k.detached(), v: v.detached(), probs: probs, scale: s),
            inputs: [query, key, value])
        return (out, probs)
    }

    /// The additive mask `[1, 1, queries, keys]` of sliding-window attention (Mistral, Gemma's local
    /// layers): the last `queries` of `keys` positions each see the `window` positions ending at
    /// themselves; nil when the window covers every key. Causality is the attention op's.
    public static func slidingWindowMask(queries: Int, keys: Int, window: Int) -> Tensor? {
        guard keys > window else { return nil }
        let shift = keys - queries
        var m = [Float](repeating: 0, count: queries * keys)
        for i in 0..<queries {
            let limit = shift + i - window  // keys at or before this are out of the window
            if limit >= 0 { for j in 0...limit { m[i * keys + j] = -.infinity } }
        }
        return Tensor(shape: [1, 1, queries, keys], scalars: m)
    }

    /// An additive key-padding mask `[B, 1, 1, T]` from a `[B, T]` 0/1 attention mask (1 = real
    /// token), as Hugging Face models take it: 0 where attended, −∞ where padded.
    public static func attentionMask(padding: Tensor, dtype: DType = .float32) -> Tensor {
        precondition(padding.rank == 2, "attentionMask(padding:) takes a [batch, length] 0/1 mask, got \(padding.shape)")
        let values = padding.indexValues.map { $0 == 0 ? -Double.infinity : 0 }
        let m = Tensor(shape: padding.shape, doubles: values, dtype: dtype)
        return m.reshaped([padding.shape[0], 1, 1, padding.shape[1]])
    }
}

/// Where each (batch, head) matrix of q, k, v starts, and how BLAS reads it.
struct AttentionGeometry {
    struct Operand { let t: Bool; let ld: Int; let sb: Int; let sh: Int }
    let q: Operand, k: Operand, v: Operand
    let heads: Int, group: Int

    init(q: Tensor, k: Tensor, v: Tensor, heads: Int, kvHeads: Int) {
        func operand(_ x: Tensor) -> Operand {
            let (t, ld) = x.matrixLayout()!
            return Operand(t: t, ld: ld, sb: x.strides[0], sh: x.strides[1])
        }
        self.q = operand(q); self.k = operand(k); self.v = operand(v)
        self.heads = heads
        group = heads / kvHeads
    }

    /// Element offsets of the q, k, v matrices for flattened (batch, head) `item`.
    @inline(__always)
    func offsets(_ item: Int) -> (Int, Int, Int) {
        let bi = item / heads, hi = item % heads, kv = hi / group
        return (bi * q.sb + hi * q.sh, bi * k.sb + kv * k.sh, bi * v.sb + kv * v.sh)
    }
}

enum AttentionKernels {
    /// In place over scores `[B·H·Tq, Tk]`: scale, add the mask, causal cut, softmax.
    static func maskedSoftmax<S: TensorScalar>(
        _ p: UnsafeMutablePointer<S>, batch: Int, heads: Int, tq: Int, tk: Int,
        scale: S, causal: Bool, mask: Tensor?
    ) {
        var maskPointer: UnsafeMutablePointer<S>?
        var ms = [0, 0, 0, 0]
        var maskTensor: Tensor?
        if let mask {
            let m = mask.dtype == S.dtype ? mask : mask.converted(to: S.dtype)
            ms = Shape.broadcastStrides(shape: m.shape, strides: m.strides, to: [batch, heads, tq, tk])
            maskPointer = m.pointer(S.self)
            maskTensor = m
        }
        let shift = tk - tq
        withExtendedLifetime(maskTensor) {
            RowKernels.forRows(batch * heads * tq, tk) { row in
                let i = row % tq, hi = (row / tq) % heads, bi = row / (tq * heads)
                let r = p + row * tk
                let limit = causal ? Swift.min(tk, Swift.max(0, i + shift + 1)) : tk
                // Scale and mask, eight at a time where the mask's last axis is contiguous.
                let sv = SIMD8<S>(repeating: scale)
                var j = 0
                var maskRow: UnsafeMutablePointer<S>?
                if let mp = maskPointer {
                    let base = mp + bi * ms[0] + hi * ms[1] + i * ms[2]
                    maskRow = base
                    if ms[3] == 1 {
                        while j + 8 <= limit { store8(load8(r + j) * sv + load8(base + j), r + j); j += 8 }
                    }
                    while j < limit { r[j] = r[j] * scale + base[j * ms[3]]; j += 1 }
                } else {
                    while j + 8 <= limit { store8(load8(r + j) * sv, r + j); j += 8 }
                    while j < limit { r[j] *= scale; j += 1 }
                }
                let m = limit > 0 ? ReduceKernels.max(r, limit) : -S.infinity
                if m == -S.infinity {
                    r.update(repeating: 0, count: tk)
                    return
                }
                let mvec = SIMD8<S>(repeating: m)
                var acc = SIMD8<S>()
                j = 0
                while j + 8 <= limit {
                    let e = S.exp8(load8(r + j) - mvec)
                    store8(e, r + j)
                    acc += e
                    j += 8
                }
                // exp8 clamps its input: keys the mask removed get exactly 0, not exp(−87).
                if let row = maskRow {
                    for k in 0..<(limit / 8 * 8) where row[k * ms[3]] == -S.infinity { acc[0] -= r[k]; r[k] = 0 }
                }
                var total = acc.sum()
                while j < limit { let e = S.exp(r[j] - m); r[j] = e; total += e; j += 1 }
                let inv = SIMD8<S>(repeating: 1 / total)
                j = 0
                while j + 8 <= limit { store8(load8(r + j) * inv, r + j); j += 8 }
                while j < limit { r[j] *= inv[0]; j += 1 }
                if limit < tk { (r + limit).update(repeating: 0, count: tk - limit) }
            }
        }
    }
}
