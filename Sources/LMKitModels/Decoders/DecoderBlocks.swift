// The pieces the decoder families share, named as Hugging Face names them inside a layer
// (`self_attn.q_proj`, `mlp.gate_proj`, …): rotary grouped-query self-attention and the gated
// feed-forward block. Gemma 3 and the Llama family differ only in options (query/key norms, scale,
// sliding window, GELU or SiLU gate).
import LMKitNN
import LMKitTensor

/// Builds a layer's projections: quantized when the checkpoint keeps `model.layers.N.NAME.weight`
/// quantized, else float32 (random, or zeros for a checkpoint to replace).
struct DecoderProjections {
    let layer: Int
    let quantized: [String: QuantizedMatrix]
    let randomInit: Bool

    func make(_ name: String, _ inputs: Int, _ outputs: Int, bias: Bool = false,
              generator g: inout RandomGenerator) -> any Module & LinearMap {
        if let m = quantized["model.layers.\(layer).\(name).weight"] { return QuantizedLinear(m, bias: bias) }
        return randomInit ? Linear(inputs, outputs, bias: bias, generator: &g)
            : Linear(weight: .zeros([outputs, inputs]), bias: bias ? .zeros([outputs]) : nil)
    }
}

/// Causal self-attention with rotary positions and grouped-query key/value heads (Llama, Qwen2,
/// Mistral, Gemma): `q_proj`, `k_proj`, `v_proj`, `o_proj`, and Gemma's `q_norm`/`k_norm` over each head.
public final class DecoderAttention: Module {
    public let qProj: any Module & LinearMap, kProj: any Module & LinearMap, vProj: any Module & LinearMap, oProj: any Module & LinearMap
    public let qNorm: RMSNorm?, kNorm: RMSNorm?
    let heads: Int, kvHeads: Int, headSize: Int
    let rotary: RotaryEmbedding
    /// Keys this far back or more are not seen (nil: all are).
    let window: Int?
    /// nil: 1/√head size.
    let scale: Double?

    init(width: Int, heads: Int, kvHeads: Int, headSize: Int, rotary: RotaryEmbedding, bias: Bool, headNorm: ((Int) -> RMSNorm)?,
         window: Int?, scale: Double?, projections p: DecoderProjections, generator g: inout RandomGenerator) {
        qProj = p.make("self_attn.q_proj", width, heads * headSize, bias: bias, generator: &g)
        kProj = p.make("self_attn.k_proj", width, kvHeads * headSize, bias: bias, generator: &g)
        vProj = p.make("self_attn.v_proj", width, kvHeads * headSize, bias: bias, generator: &g)
        oProj = p.make("self_attn.o_proj", heads * headSize, width, generator: &g)
        qNorm = headNorm?(headSize)
        kNorm = headNorm?(headSize)
        self.heads = heads; self.kvHeads = kvHeads; self.headSize = headSize
        self.rotary = rotary; self.window = window; self.scale = scale
        super.init()
        register("q_proj", qProj)
        register("k_proj", kProj)
        register("v_proj", vProj)
        register("o_proj", oProj)
        if let qNorm { register("q_norm", qNorm) }
        if let kNorm { register("k_norm", kNorm) }
    }

    /// `h: [B, T, C]` at positions `start ..< start + T` (continuing `cache`, layer `layer`) → `[B, T, C]`.
    func callAsFunction(_ h: Tensor, start: Int, cache: KVCache?, layer: Int) -> Tensor {
        let (b, t) = (h.shape[0], h.shape[1])
        func split(_ y: Tensor, _ n: Int, _ norm: RMSNorm?) -> Tensor {
            let heads = y.reshaped([b, t, n, headSize])
            return (norm.map { $0(heads) } ?? heads).transposed(1, 2)                                 // (B, n, T, hs)
        }
        let (cos, sin) = rotary.table(start: start, count: t)
        let q = rotary(split(qProj(h), heads, qNorm), cos: cos, sin: sin)
        var k = rotary(split(kProj(h), kvHeads, kNorm), cos: cos, sin: sin)
        var v = split(vProj(h), kvHeads, nil)
        if let cache { (k, v) = cache.append(layer: layer, key: k, value: v) }
        let mask = window.flatMap { Tensor.slidingWindowMask(queries: t, keys: k.shape[2], window: $0) }
        let y = Tensor.scaledDotProductAttention(query: q, key: k, value: v, causal: true, mask: mask, scale: scale)
        return oProj(y.transposed(1, 2).reshaped([b, t, heads * headSize]))
    }
}

/// The gated feed-forward block `down(act(gate(x)) · up(x))`: SwiGLU (Llama) or GeGLU (Gemma).
public final class GatedFeedForward: Module {
    public enum Gate: Sendable { case silu, geluTanh }
    public let gateProj: any Module & LinearMap, upProj: any Module & LinearMap, downProj: any Module & LinearMap
    let gate: Gate

    init(width: Int, hidden: Int, gate: Gate, projections p: DecoderProjections, generator g: inout RandomGenerator) {
        gateProj = p.make("mlp.gate_proj", width, hidden, generator: &g)
        upProj = p.make("mlp.up_proj", width, hidden, generator: &g)
        downProj = p.make("mlp.down_proj", hidden, width, generator: &g)
        self.gate = gate
        super.init()
        register("gate_proj", gateProj)
        register("up_proj", upProj)
        register("down_proj", downProj)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let g = gateProj(x)
        return downProj((gate == .silu ? g.silu() : g.gelu(approximate: true)) * upProj(x))
    }
}
