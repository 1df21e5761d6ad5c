import LMKitTensor

/// Layer normalization over the last axis (Ba et al. 2016), weight 1 and bias 0 initially.
public final class LayerNorm: Module {
    /// Per-feature scale `[dim]`, initially 1 (nil when not affine).
    public let weight: Parameter?
    /// Per-feature shift `[dim]`, initially 0 (nil when not affine or without bias).
    public let bias: Parameter?
    /// Added to the variance before the square root (PyTorch default 1e-5).
    public let eps: Double

    /// A norm over `dim` features; `affine: false` drops weight and bias, `bias: false` the bias only.
    public init(_ dim: Int, eps: Double = 1e-5, affine: Bool = true, bias: Bool = true) {
        weight = affine ? Parameter(.ones([dim])) : nil
        self.bias = affine && bias ? Parameter(.zeros([dim])) : nil
        self.eps = eps
        super.init()
        if let weight { register("weight", weight) }
        if let b = self.bias { register("bias", b) }
    }

    /// `x: […, dim]` normalized over its last axis to mean 0 and variance 1, then scaled and shifted.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.layerNorm(weight: weight?.value, bias: bias?.value, eps: eps)
    }
}
