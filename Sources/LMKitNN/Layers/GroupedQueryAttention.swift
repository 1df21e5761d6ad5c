import LMKitTensor

/// Causal self-attention with separate `q_proj`, `k_proj`, `v_proj`, `o_proj` projections, rotary
/// positions and grouped-query key/value heads (Ainslie et al. 2023), as Llama, Mistral, Qwen2 and
/// Gemma name them; Gemma adds `q_norm`/`k_norm`, RMS norms over each head of queries and keys.
/// Mirrors transformers' `LlamaAttention` / `Gemma3Attention` (eager path).
public final class GroupedQueryAttention: Module {
    /// What varies between the families.
    public struct Options: Sendable, Equatable {
        /// Width of the residual stream the projections read and write (`hidden_size`).
        public var width: Int
        /// Query heads (`num_attention_heads`).
        public var heads: Int
        /// Key/value heads (`num_key_value_heads`), each shared by `heads / kvHeads` query heads.
        public var kvHeads: Int
        /// Width of each head (`head_dim`): q has `heads · headSize` outputs, k and v `kvHeads · headSize`.
        public var headSize: Int
        /// Biases on q, k, v and o (Llama's `attention_bias`).
        public var bias = false
        /// Biases on q, k and v only (Qwen2).
        public var queryKeyValueBias = false
        /// Rotary positions over whole heads (nil: the caller encodes positions).
        public var rotary: RotaryEmbedding?
        /// Norms over each query and key head (nil: none).
        public var headNorm: HeadNorm?
        /// Keys this far back or more are not seen (nil: all are).
        public var window: Int?
        /// Score scale; nil: 1/√head size.
        public var scale: Double?

        /// Options without biases, rotary positions, head norms or window, scoring by 1/√head size.
        public init(width: Int, heads: Int, kvHeads: Int, headSize: Int) {
            (self.width, self.heads, self.kvHeads, self.headSize) = (width, heads, kvHeads, headSize)
        }
    }

    /// Gemma's RMS norms over each query and key head.
    public struct HeadNorm: Sendable, Equatable {
        /// Epsilon of the head norms (`rms_norm_eps`).
        public var eps: Double
        /// 1 for norms that scale by (1 + w).
        public var weightOffset: Double

        /// Head norms with epsilon `eps`; `weightOffset` 1 for Gemma.
        public init(eps: Double, weightOffset: Double = 0) { (self.eps, self.weightOffset) = (eps, weightOffset) }
    }

    /// `q_proj`, `k_proj`, `v_proj` and `o_proj`, float or quantized.
    public let qProj: any Module & LinearMap, kProj: any Module & LinearMap, vProj: any Module & LinearMap, oProj: any Module & LinearMap
    /// `q_norm` and `k_norm` over each query and key head (nil without ``Options/headNorm``).
    public let qNorm: RMSNorm?, kNorm: RMSNorm?
    /// The sizes, rotary embedding, window and scale each call uses.
    public let options: Options

    /// The projections under `b`'s prefix (`q_proj`, …), quantized where the checkpoint keeps them so.
    public init(_ o: Options, _ b: WeightBuilder) {
        precondition(o.heads % o.kvHeads == 0, "\(o.heads) query heads are not a multiple of \(o.kvHeads) key/value heads")
        precondition(
            o.rotary.map { $0.headSize == o.headSize } ?? true,
            "rotary embedding over \(o.rotary!.headSize) of \(o.headSize) head dimensions")
        let qkvBias = o.bias || o.queryKeyValueBias
        qProj = b.linear("q_proj", o.width, o.heads * o.headSize, bias: qkvBias)
        kProj = b.linear("k_proj", o.width, o.kvHeads * o.headSize, bias: qkvBias)
        vProj = b.linear("v_proj", o.width, o.kvHeads * o.headSize, bias: qkvBias)
        oProj = b.linear("o_proj", o.heads * o.headSize, o.width, bias: o.bias)
        qNorm = o.headNorm.map { b.rmsNorm("q_norm", o.headSize, eps: $0.eps, weightOffset: $0.weightOffset) }
        kNorm = o.headNorm.map { b.rmsNorm("k_norm", o.headSize, eps: $0.eps, weightOffset: $0.weightOffset) }
        options = o
        super.init()
        register(builtBy: b)
    }

    /// `h: [B, T, C]` at positions `start ..< start + T` → `[B, T, C]`.
    ///
    /// - `mask`: an additive mask broadcastable to `[B, H, T, keys]` (a key-padding mask from
    ///   `Tensor.attentionMask(padding:)`), added to the causal mask and the window's.
    /// - `cache`: this step's keys and values join layer `layer` of the cache, and the queries attend
    ///   to everything it holds (`keys` = cached + T).
    public func callAsFunction(_ h: Tensor, start: Int = 0, mask: Tensor? = nil, cache: KVCache? = nil, layer: Int = 0) -> Tensor {
        let (b, t) = (h.shape[0], h.shape[1])
        let o = options
        func split(_ y: Tensor, _ n: Int, _ norm: RMSNorm?) -> Tensor {
            let heads = y.reshaped([b, t, n, o.headSize])  // (B, T, n, hs)
            return (norm.map { $0(heads) } ?? heads).transposed(1, 2)  // (B, n, T, hs)
        }
        var q = split(qProj(h), o.heads, qNorm)  // (B, nh, T, hs)
        var k = split(kProj(h), o.kvHeads, kNorm)  // (B, nkv, T, hs)
        var v = split(vProj(h), o.kvHeads, nil)  // (B, nkv, T, hs)
        if let rotary = o.rotary {
            let (cos, sin) = rotary.table(start: start, count: t)
            q = rotary(q, cos: cos, sin: sin)
            k = rotary(k, cos: cos, sin: sin)
        }
        if let cache { (k, v) = cache.append(layer: layer, key: k, value: v) }  // (B, nkv, T_past + T, hs)
        let window = o.window.flatMap { Tensor.slidingWindowMask(queries: t, keys: k.shape[2], window: $0) }  // (1, 1, T, keys)
        let combined: Tensor? =
            switch (mask, window) {
            case let (m?, w?): m + (w.dtype == m.dtype ? w : w.converted(to: m.dtype))
            case let (m, w): m ?? w
            }
        // (B, nh, T, hs)
        let y = Tensor.scaledDotProductAttention(query: q, key: k, value: v, causal: true, mask: combined, scale: o.scale)
        return oProj(y.transposed(1, 2).reshaped([b, t, o.heads * o.headSize]))  // (B, T, C)
    }
}
