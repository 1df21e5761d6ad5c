import LMKitTensor

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
