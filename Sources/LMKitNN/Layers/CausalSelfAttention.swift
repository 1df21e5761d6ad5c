import LMKitTensor

/// GPT-2's causal self-attention: one fused `c_attn` projection to q, k, v, then `c_proj`
/// (Radford et al. 2019; reference: nanoGPT `model.py`, `CausalSelfAttention`).
public final class CausalSelfAttention: Module {
    /// `c_attn`: the fused query, key and value projection, `width` → `3 · width`.
    public let cAttn: Linear
    /// `c_proj`: the output projection, `width` → `width`.
    public let cProj: Linear
    /// Attention heads, each `width / heads` wide.
    public let heads: Int
    /// `resid_dropout`: dropout on the output projection's result (training only).
    public let residualDropout: Dropout

    /// PyTorch-initialized projections; `width` must be a multiple of `heads`, `dropout` is the residual rate.
    public init(width: Int, heads: Int, bias: Bool = true, dropout: Double = 0, generator: inout RandomGenerator) {
        precondition(width % heads == 0, "width \(width) is not a multiple of heads \(heads)")
        cAttn = Linear(width, 3 * width, bias: bias, generator: &generator)
        cProj = Linear(width, width, bias: bias, generator: &generator)
        self.heads = heads
        residualDropout = Dropout(dropout, seed: generator.next())
        super.init()
        register("c_attn", cAttn)
        register("c_proj", cProj)
        register("resid_dropout", residualDropout)  // no parameters; registered so eval() reaches it
    }

    /// `x: [B, T, C]` → `[B, T, C]`; `mask` is an additive mask broadcastable to `[B, H, T, T]`.
    /// With a cache, `x` holds the positions after the cached ones; their keys and values join the
    /// cache (layer `layer`) and the queries attend to everything cached so far.
    public func callAsFunction(_ x: Tensor, mask: Tensor? = nil, cache: KVCache? = nil, layer: Int = 0) -> Tensor {
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let hs = c / heads
        let qkv = cAttn(x).chunked(3, axis: 2)  // 3 × (B, T, C)
        let q = qkv[0].reshaped([b, t, heads, hs]).transposed(1, 2)  // (B, nh, T, hs)
        var k = qkv[1].reshaped([b, t, heads, hs]).transposed(1, 2)
        var v = qkv[2].reshaped([b, t, heads, hs]).transposed(1, 2)
        if let cache { (k, v) = cache.append(layer: layer, key: k, value: v) }  // (B, nh, T_past + T, hs)
        let y = Tensor.scaledDotProductAttention(query: q, key: k, value: v, causal: true, mask: mask)  // (B, nh, T, hs)
        return residualDropout(cProj(y.transposed(1, 2).reshaped([b, t, c])))  // (B, T, C)
    }
}
