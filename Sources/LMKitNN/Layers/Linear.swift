import LMKitTensor

/// y = x·Wᵀ + b, with `weight: [out, in]` as PyTorch's `nn.Linear` stores it.
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?

    /// PyTorch's default initialization: U(−1/√in, 1/√in) for weight and bias.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: inout RandomGenerator) {
        let bound = 1 / Double(inFeatures).squareRoot()
        weight = Parameter(.randomUniform([outFeatures, inFeatures], low: -bound, high: bound, generator: &generator))
        self.bias = bias ? Parameter(.randomUniform([outFeatures], low: -bound, high: bound, generator: &generator)) : nil
        super.init()
        register("weight", weight)
        if let b = self.bias { register("bias", b) }
    }

    /// A layer with the given `weight: [out, in]` and `bias: [out]`.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2 && (bias == nil || bias!.shape == [weight.shape[0]]), "Linear(weight: \(weight.shape), bias: \(bias?.shape ?? []))")
        self.weight = Parameter(weight)
        self.bias = bias.map { Parameter($0) }
        super.init()
        register("weight", self.weight)
        if let b = self.bias { register("bias", b) }
    }

    public var inFeatures: Int { weight.value.shape[1] }
    public var outFeatures: Int { weight.value.shape[0] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.linear(x, weight: weight.value, bias: bias?.value)
    }
}

/// A lookup table: integer ids `[…]` → rows `[…, dim]`.
public final class Embedding: Module {
    public let weight: Parameter

    /// PyTorch's default initialization: N(0, 1).
    public init(_ count: Int, _ dim: Int, generator: inout RandomGenerator) {
        weight = Parameter(.randomNormal([count, dim], generator: &generator))
        super.init()
        register("weight", weight)
    }

    /// A table with the given rows `[count, dim]`.
    public init(weight: Tensor) {
        precondition(weight.rank == 2, "Embedding(weight:) takes a [count, dim] table, got \(weight.shape)")
        self.weight = Parameter(weight)
        super.init()
        register("weight", self.weight)
    }

    public func callAsFunction(_ ids: Tensor) -> Tensor { weight.value.gatheringRows(ids) }
}

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

/// Inverted dropout, active only in training mode. Owns its random stream so runs are reproducible.
public final class Dropout: Module {
    public let probability: Double
    public var generator: RandomGenerator

    public init(_ probability: Double, seed: UInt64 = 0) {
        precondition(probability >= 0 && probability < 1, "Dropout probability \(probability) is outside [0, 1)")
        self.probability = probability
        generator = RandomGenerator(seed: seed)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining, probability > 0 else { return x }
        return x.dropout(probability, generator: &generator)
    }
}

/// Anything that maps `[…, in]` to `[…, out]` like a linear layer: ``Linear``, or ``QuantizedLinear``
/// whose weights stay quantized.
public protocol LinearMap: AnyObject {
    func callAsFunction(_ x: Tensor) -> Tensor
}

extension Linear: LinearMap {}

/// A linear layer whose weight stays in its GGUF blocks (inference only: no gradient). It reads
/// 0.5-1 byte per weight instead of 4. The optional bias is an ordinary float32 parameter (`bias`),
/// filled when a checkpoint loads.
public final class QuantizedLinear: Module, LinearMap {
    public let matrix: QuantizedMatrix
    public let bias: Parameter?

    public init(_ matrix: QuantizedMatrix, bias: Bool = false) {
        self.matrix = matrix
        self.bias = bias ? Parameter(.zeros([matrix.rows])) : nil
        super.init()
        if let b = self.bias { register("bias", b) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = matrix.linear(x)
        return bias.map { y + $0.value } ?? y
    }
}
