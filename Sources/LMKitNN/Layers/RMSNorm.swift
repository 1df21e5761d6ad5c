import LMKitTensor

/// RMS normalization over the last axis (Zhang & Sennrich 2019). `weightOffset: 1` is Gemma's
/// convention, where the stored weight is w − 1 and starts at 0.
public final class RMSNorm: Module {
    public let weight: Parameter
    public let eps: Double
    public let weightOffset: Double

    public init(_ dim: Int, eps: Double = 1e-6, weightOffset: Double = 0) {
        weight = Parameter(weightOffset == 0 ? .ones([dim]) : .zeros([dim]))
        self.eps = eps
        self.weightOffset = weightOffset
        super.init()
        register("weight", weight)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.rmsNorm(weight: weight.value, eps: eps, weightOffset: weightOffset)
    }
}
