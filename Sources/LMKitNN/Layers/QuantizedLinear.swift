import LMKitTensor

/// Anything that maps `[…, in]` to `[…, out]` like a linear layer: ``Linear``, or ``QuantizedLinear``
/// whose weights stay quantized.
public protocol LinearMap: AnyObject {
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// A linear layer whose weight stays in its GGUF blocks: it reads 0.5-1 byte per weight instead of 4.
/// The weight takes no gradient, but its input does (QLoRA: a LoRA ``adapter`` here, or in an
/// earlier layer, trains through it). The optional bias is an ordinary float32 parameter (`bias`),
/// filled when a checkpoint loads.
public final class QuantizedLinear: Module, AdaptableLinear {
    /// The weight `[out, in]` in its GGUF blocks.
    public let matrix: QuantizedMatrix
    /// The float32 bias `[out]`, zeros until a checkpoint loads (nil without one).
    public let bias: Parameter?
    /// A LoRA adapter whose update joins the output (nil: none); not one of the layer's parameters.
    public var adapter: LowRankAdapter?
    /// Called with every input (calibration statistics: importance matrices, Wanda).
    public var inputObserver: ((Tensor) -> Void)?

    /// A layer over `matrix`; `bias: true` adds a zero bias `[out]` registered as `bias`.
    public init(_ matrix: QuantizedMatrix, bias: Bool = false) {
        self.matrix = matrix
        self.bias = bias ? Parameter(.zeros([matrix.rows])) : nil
        super.init()
        if let b = self.bias { register("bias", b) }
    }

    /// `x: […, in]` → `[…, out]`, multiplied in the quantized form.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        inputObserver?(x)
        var y = matrix.linear(x)
        if let bias { y = y + bias.value }
        return adapter.map { y + $0(x) } ?? y
    }

    /// Width of the input (the matrix's columns).
    public var inFeatures: Int { matrix.columns }
    /// Width of the output (the matrix's rows).
    public var outFeatures: Int { matrix.rows }
}
