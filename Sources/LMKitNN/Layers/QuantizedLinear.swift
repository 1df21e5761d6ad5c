import LMKitTensor

/// Anything that maps `[…, in]` to `[…, out]` like a linear layer: ``Linear``, or ``QuantizedLinear``
/// whose weights stay quantized.
public protocol LinearMap: AnyObject {
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// A linear layer whose weight stays in its GGUF blocks (inference only: no gradient). It reads
/// 0.5-1 byte per weight instead of 4. The optional bias is an ordinary float32 parameter (`bias`),
/// filled when a checkpoint loads.
public final class QuantizedLinear: Module, LinearMap {
    /// The weight `[out, in]` in its GGUF blocks.
    public let matrix: QuantizedMatrix
    /// The float32 bias `[out]`, zeros until a checkpoint loads (nil without one).
    public let bias: Parameter?

    /// A layer over `matrix`; `bias: true` adds a zero bias `[out]` registered as `bias`.
    public init(_ matrix: QuantizedMatrix, bias: Bool = false) {
        self.matrix = matrix
        self.bias = bias ? Parameter(.zeros([matrix.rows])) : nil
        super.init()
        if let b = self.bias { register("bias", b) }
    }

    /// `x: […, in]` → `[…, out]`, multiplied in the quantized form.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = matrix.linear(x)
        return bias.map { y + $0.value } ?? y
    }
}
