import LMKitTensor

/// GPT-2's causal self-attention: one fused `c_attn` projection to q, k, v, then `c_proj`
/// (Radford et al. 2019; reference: nanoGPT `model.py`, `CausalSelfAttention`).
public final class CausalSelfAttention: Module {
    public let cAttn: Linear
    public let cProj: Linear
    public let heads: Int
    public let residualDropout: Dropout

    public init(width: Int, heads: Int, bias: Bool = true, dropout: Double = 0, generator: inout RandomGenerator) {
        precondition(width % heads == 0, "width \(width) is not a multiple of heads \(heads)")
        cAttn = Linear(width, 3 * width, bias: bias, generator: &generator)
        cProj = Linear(width, width, bias: bias, generator: &generator)
        self.heads = heads
        residualDropout = Dropout(dropout, seed: generator.next())
        super.init()
        register("c_attn", cAttn)
        register("c_proj", cProj)
        register("resid_dropout", residualDropout) // no parameters; registered so eval() reaches it
    }

    /// `x: [B, T, C]` → `[B, T, C]`; `mask` is an additive mask broadcastable to `[B, H, T, T]`.
    /// With a cache, `x` holds the positions after the cached ones; their keys and values join the
    /// cache (layer `layer`) and the queries attend to everything cached so far.
    public func callAsFunction(_ x: Tensor, mask: Tensor? = nil, cache: KVCache? = nil, layer: Int = 0) -> Tensor {
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let hs = c / heads
        let qkv = cAttn(x).chunked(3, axis: 2)                                          // 3 × (B, T, C)
        let q = qkv[0].reshaped([b, t, heads, hs]).transposed(1, 2)                     // (B, nh, T, hs)
        var k = qkv[1].reshaped([b, t, heads, hs]).transposed(1, 2)
        var v = qkv[2].reshaped([b, t, heads, hs]).transposed(1, 2)
        if let cache { (k, v) = cache.append(layer: layer, key: k, value: v) }          // (B, nh, T_past + T, hs)
        let y = Tensor.scaledDotProductAttention(query: q, key: k, value: v, causal: true, mask: mask)  // (B, nh, T, hs)
        return residualDropout(cProj(y.transposed(1, 2).reshaped([b, t, c])))            // (B, T, C)
    }
}

/// Multi-head attention with separate q/k/v/o projections and grouped-query sharing of key/value
/// heads (Ainslie et al. 2023), as Llama, Mistral, Qwen2 and Gemma name them.
public final class GroupedQueryAttention: Module {
    public let qProj: Linear, kProj: Linear, vProj: Linear, oProj: Linear
    public let heads: Int, kvHeads: Int, headSize: Int

    public init(width: Int, heads: Int, kvHeads: Int, headSize: Int? = nil, bias: Bool = false, generator: inout RandomGenerator) {
        precondition(heads % kvHeads == 0, "heads \(heads) is not a multiple of kv heads \(kvHeads)")
        let hs = headSize ?? width / heads
        qProj = Linear(width, heads * hs, bias: bias, generator: &generator)
        kProj = Linear(width, kvHeads * hs, bias: bias, generator: &generator)
        vProj = Linear(width, kvHeads * hs, bias: bias, generator: &generator)
        oProj = Linear(heads * hs, width, bias: bias, generator: &generator)
        self.heads = heads
        self.kvHeads = kvHeads
        self.headSize = hs
        super.init()
        register("q_proj", qProj)
        register("k_proj", kProj)
        register("v_proj", vProj)
        register("o_proj", oProj)
    }

    /// `x: [B, T, C]` → `[B, T, C]`.
    public func callAsFunction(_ x: Tensor, causal: Bool = true, mask: Tensor? = nil) -> Tensor {
        let (b, t) = (x.shape[0], x.shape[1])
        let q = qProj(x).reshaped([b, t, heads, headSize]).transposed(1, 2)             // (B, nh, T, hs)
        let k = kProj(x).reshaped([b, t, kvHeads, headSize]).transposed(1, 2)           // (B, nkv, T, hs)
        let v = vProj(x).reshaped([b, t, kvHeads, headSize]).transposed(1, 2)           // (B, nkv, T, hs)
        let y = Tensor.scaledDotProductAttention(query: q, key: k, value: v, causal: causal, mask: mask)
        return oProj(y.transposed(1, 2).reshaped([b, t, heads * headSize]))              // (B, T, C)
    }
}

/// The transformer feed-forward block `c_proj(act(c_fc(x)))` (GPT-2 names; GELU, tanh form by default).
public final class MLP: Module {
    public let cFc: Linear
    public let cProj: Linear
    public let approximateGELU: Bool

    public init(width: Int, hidden: Int, bias: Bool = true, approximateGELU: Bool = true, generator: inout RandomGenerator) {
        cFc = Linear(width, hidden, bias: bias, generator: &generator)
        cProj = Linear(hidden, width, bias: bias, generator: &generator)
        self.approximateGELU = approximateGELU
        super.init()
        register("c_fc", cFc)
        register("c_proj", cProj)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        cProj(cFc(x).gelu(approximate: approximateGELU))
    }
}

/// The gated feed-forward block `down(silu(gate(x)) · up(x))` (SwiGLU, Shazeer 2020), Llama names.
public final class GatedMLP: Module {
    public let gateProj: Linear, upProj: Linear, downProj: Linear

    public init(width: Int, hidden: Int, bias: Bool = false, generator: inout RandomGenerator) {
        gateProj = Linear(width, hidden, bias: bias, generator: &generator)
        upProj = Linear(width, hidden, bias: bias, generator: &generator)
        downProj = Linear(hidden, width, bias: bias, generator: &generator)
        super.init()
        register("gate_proj", gateProj)
        register("up_proj", upProj)
        register("down_proj", downProj)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        downProj(gateProj(x).silu() * upProj(x))
    }
}
