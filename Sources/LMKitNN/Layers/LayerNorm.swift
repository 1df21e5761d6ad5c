import LMKitTensor

/// Layer normalization over the last axis (Ba et al. 2016), weight 1 and bias 0 initially.
public final class LayerNorm: Module {
    public let weight: Parameter?
    public let bias: Parameter?
    public let eps: Double

    public init(_ dim: Int, eps: Double = 1e-5, affine: Bool = true, bias: Bool = true) {
        weight = affine ? Parameter(.ones([dim])) : nil
        self.bias = affine && bias ? Parameter(.zeros([dim])) : nil
        self.eps = eps
        super.init()
        if let weight { register("weight", weight) }
        if let b = self.bias { register("bias", b) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.layerNorm(weight: weight?.value, bias: bias?.value, eps: eps)
    }
}
