import LMKitTensor

/// The gated feed-forward block `down_proj(act(gate_proj(x)) · up_proj(x))` (Shazeer 2020, "GLU
/// Variants Improve Transformer"): SwiGLU in Llama, GeGLU (tanh GELU) in Gemma.
public final class GatedMLP: Module {
    /// The activation on the gate.
    public enum Activation: String, Sendable, Codable {
        /// SiLU (Llama's `silu`).
        case silu
        /// GELU, tanh approximation (Gemma's `gelu_pytorch_tanh`).
        case geluTanh = "gelu_pytorch_tanh"
    }

    /// `gate_proj` and `up_proj` (`width` → `hidden`), `down_proj` (`hidden` → `width`), float or quantized.
    public let gateProj: any Module & LinearMap, upProj: any Module & LinearMap, downProj: any Module & LinearMap
    /// The activation on `gate_proj`'s output.
    public let activation: Activation

    /// The projections under `b`'s prefix (`gate_proj`, `up_proj`, `down_proj`).
    public init(width: Int, hidden: Int, activation: Activation, bias: Bool = false, _ b: WeightBuilder) {
        gateProj = b.linear("gate_proj", width, hidden, bias: bias)
        upProj = b.linear("up_proj", width, hidden, bias: bias)
        downProj = b.linear("down_proj", hidden, width, bias: bias)
        self.activation = activation
        super.init()
        register(builtBy: b)
    }

    /// `x: [B, T, C]` → `[B, T, C]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let g = gateProj(x)  // (B, T, hidden)
        return downProj((activation == .silu ? g.silu() : g.gelu(approximate: true)) * upProj(x))  // (B, T, C)
    }
}
