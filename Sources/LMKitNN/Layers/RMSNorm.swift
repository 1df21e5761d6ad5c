import LMKitTensor

/// RMS normalization over the last axis (Zhang & Sennrich 2019). `weightOffset: 1` is Gemma's
/// convention, where the stored weight is w − 1 and starts at 0.
public final class RMSNorm: Module {
    /// Per-feature scale `[dim]`; the norm scales by `weightOffset + weight`.
    public let weight: Parameter
    /// Added to the mean square before the square root (`rms_norm_eps`).
    public let eps: Double
    /// Added to `weight` when scaling: 0, or 1 for Gemma's (1 + w) norms.
    public let weightOffset: Double

    /// A norm over `dim` features whose scale starts at 1 (weight 1, or 0 with an offset of 1).
    public init(_ dim: Int, eps: Double = 1e-6, weightOffset: Double = 0) {
        weight = Parameter(weightOffset == 0 ? .ones([dim]) : .zeros([dim]))
        self.eps = eps
        self.weightOffset = weightOffset
        super.init()
        register("weight", weight)
    }

    /// `x: […, dim]` divided by its root mean square over the last axis, then scaled.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.rmsNorm(weight: weight.value, eps: eps, weightOffset: weightOffset)
    }
}
