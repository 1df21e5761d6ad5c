import LMKitTensor

/// The transformer feed-forward block `c_proj(act(c_fc(x)))` (GPT-2 names; GELU, tanh form by default).
public final class MLP: Module {
    /// `c_fc`: `width` → `hidden` (GPT-2: 4 · width).
    public let cFc: Linear
    /// `c_proj`: `hidden` → `width`.
    public let cProj: Linear
    /// Whether GELU takes the tanh approximation (GPT-2's `gelu_new`) rather than the exact erf form.
    public let approximateGELU: Bool

    /// PyTorch-initialized `c_fc` and `c_proj` for a `width` → `hidden` → `width` block.
    public init(width: Int, hidden: Int, bias: Bool = true, approximateGELU: Bool = true, generator: inout RandomGenerator) {
        cFc = Linear(width, hidden, bias: bias, generator: &generator)
        cProj = Linear(hidden, width, bias: bias, generator: &generator)
        self.approximateGELU = approximateGELU
        super.init()
        register("c_fc", cFc)
        register("c_proj", cProj)
    }

    /// `x: [B, T, C]` → `[B, T, C]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        cProj(cFc(x).gelu(approximate: approximateGELU))
    }
}
