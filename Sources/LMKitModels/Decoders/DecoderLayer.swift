// One decoder layer, as the families LMKit runs build it: an RMS-normed grouped-query attention
// block and a gated MLP block, each added to the residual stream. Llama norms before each block
// (pre-norm); Gemma 2/3 also norm each block's output ("sandwich" norms). Mirrors transformers'
// `LlamaDecoderLayer` and `Gemma3DecoderLayer`; parameter names are theirs.
import LMKitNN
import LMKitTensor

/// A decoder layer: `input_layernorm`, `self_attn`, `post_attention_layernorm`, `mlp`, and with
/// sandwich norms `pre_feedforward_layernorm` and `post_feedforward_layernorm`.
public final class DecoderLayer: Module {
    /// What a family's configuration says about layer `i`.
    public struct Options: Sendable, Equatable {
        /// The attention block's sizes, rotary positions, biases, head norms, window and score scale.
        public var attention: GroupedQueryAttention.Options
        /// Width of the MLP's hidden layer (`intermediate_size`).
        public var hidden: Int
        /// The gated MLP's activation: SiLU for Llama (`hidden_act`), tanh GELU for Gemma (`hidden_activation`).
        public var activation: GatedMLP.Activation
        /// Epsilon of the layer's RMS norms (`rms_norm_eps`).
        public var rmsNormEpsilon: Double
        /// 1 for Gemma's norms, which scale by (1 + w).
        public var normWeightOffset: Double = 0
        /// Norms after the attention and MLP blocks too (Gemma 2/3).
        public var sandwichNorms = false

        /// Options with Llama-style norms: no weight offset, no sandwich norms.
        public init(attention: GroupedQueryAttention.Options, hidden: Int, activation: GatedMLP.Activation, rmsNormEpsilon: Double) {
            (self.attention, self.hidden, self.activation, self.rmsNormEpsilon) = (attention, hidden, activation, rmsNormEpsilon)
        }
    }

    /// `input_layernorm`: the norm before attention.
    public let inputNorm: RMSNorm
    /// `self_attn`: grouped-query attention over the normed input.
    public let attention: GroupedQueryAttention
    /// Llama: the norm before the MLP. Gemma: the norm of the attention block's output.
    public let postAttentionNorm: RMSNorm
    /// `pre_feedforward_layernorm`: with sandwich norms, the norm before the MLP (nil without).
    public let preFeedForwardNorm: RMSNorm?
    /// `mlp`: the gated feed-forward block (`gate_proj`, `up_proj`, `down_proj`).
    public let mlp: GatedMLP
    /// `post_feedforward_layernorm`: with sandwich norms, the norm of the MLP's output (nil without).
    public let postFeedForwardNorm: RMSNorm?

    /// The layer's modules under `b`'s prefix (`model.layers.N`), quantized where the checkpoint keeps them so.
    public init(_ o: Options, _ b: WeightBuilder) {
        let width = o.attention.width
        func norm(_ name: String) -> RMSNorm { b.rmsNorm(name, width, eps: o.rmsNormEpsilon, weightOffset: o.normWeightOffset) }
        inputNorm = norm("input_layernorm")
        attention = b.module("self_attn") { GroupedQueryAttention(o.attention, $0) }
        postAttentionNorm = norm("post_attention_layernorm")
        preFeedForwardNorm = o.sandwichNorms ? norm("pre_feedforward_layernorm") : nil
        mlp = b.module("mlp") { GatedMLP(width: width, hidden: o.hidden, activation: o.activation, $0) }
        postFeedForwardNorm = o.sandwichNorms ? norm("post_feedforward_layernorm") : nil
        super.init()
        register(builtBy: b)
    }

    /// `x: [B, T, C]` at positions `start ..< start + T` → `[B, T, C]` (`mask` and `cache` as in
    /// ``GroupedQueryAttention``; `layer` is this layer's index in the cache).
    public func callAsFunction(_ x: Tensor, start: Int, mask: Tensor?, cache: KVCache?, layer: Int) -> Tensor {
        let a = attention(inputNorm(x), start: start, mask: mask, cache: cache, layer: layer)  // (B, T, C)
        if let preFeedForwardNorm, let postFeedForwardNorm {
            let r = x + postAttentionNorm(a)
            return r + postFeedForwardNorm(mlp(preFeedForwardNorm(r)))
        }
        let r = x + a
        return r + mlp(postAttentionNorm(r))
    }
}
