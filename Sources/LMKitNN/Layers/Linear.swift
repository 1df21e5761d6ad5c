import LMKitTensor

/// y = x·Wᵀ + b, with `weight: [out, in]` as PyTorch's `nn.Linear` stores it.
public final class Linear: Module {
    /// The matrix `[out, in]`.
    public let weight: Parameter
    /// The bias `[out]` (nil without one).
    public let bias: Parameter?
    /// A LoRA adapter whose update joins the output (nil: none); not one of the layer's parameters.
    public var adapter: LowRankAdapter?
    /// Called with every input (calibration statistics: importance matrices, Wanda).
    public var inputObserver: ((Tensor) -> Void)?
    /// The weight quantized to int8 for inference (PyTorch's dynamic quantization; see
    /// ``Int8Matrix``). When set, the layer multiplies in integers with its input quantized per call,
    /// and nothing it computes takes a gradient; `weight` stays as it was (nil: float32 products).
    public var int8: Int8Matrix?

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
        precondition(
            weight.rank == 2 && (bias == nil || bias!.shape == [weight.shape[0]]),
            "Linear(weight: \(weight.shape), bias: \(bias?.shape ?? []))")
        self.weight = Parameter(weight)
        self.bias = bias.map { Parameter($0) }
        super.init()
        register("weight", self.weight)
        if let b = self.bias { register("bias", b) }
    }

    /// Width of the input (`weight`'s columns).
    public var inFeatures: Int { weight.value.shape[1] }
    /// Width of the output (`weight`'s rows).
    public var outFeatures: Int { weight.value.shape[0] }

    /// `x: […, in]` → `[…, out]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        inputObserver?(x)
        let y = int8.map { $0.linear(x, bias: bias?.value) } ?? Tensor.linear(x, weight: weight.value, bias: bias?.value)
        return adapter.map { y + $0(x) } ?? y
    }
}

extension Linear: AdaptableLinear {}

/// A linear layer that reports its inputs: ``Linear`` and ``QuantizedLinear``. Calibration passes
/// (an importance matrix's E[x²] per input column, Wanda's ‖X_j‖) set `inputObserver` for one run
/// and clear it after.
public protocol InputObservingLinear: AdaptableLinear {
    var inputObserver: ((Tensor) -> Void)? { get set }
}

extension Linear: InputObservingLinear {}
extension QuantizedLinear: InputObservingLinear {}
