import LMKitTensor

/// A token embedding table kept in its GGUF blocks (inference only: no gradient): a lookup expands
/// only the rows it reads, and as a tied output layer it multiplies in the quantized form.
public final class QuantizedEmbedding: Module, TokenEmbedding {
    /// The table `[count, dim]` in its GGUF blocks.
    public let matrix: QuantizedMatrix

    /// An embedding over `matrix` (one row per token); it registers no parameters.
    public init(_ matrix: QuantizedMatrix) {
        self.matrix = matrix
        super.init()
    }

    /// Width of each row (the matrix's columns).
    public var dimension: Int { matrix.columns }

    /// Rows `[…, dim]` of integer ids `[…]`, expanded to float32 from their blocks.
    public func callAsFunction(_ ids: Tensor) -> Tensor { matrix.rows(ids.indexValues).reshaped(ids.shape + [matrix.columns]) }

    /// Scores `[…, count]` of hidden states `[…, dim]`, multiplied in the quantized form.
    public func logits(_ h: Tensor) -> Tensor { matrix.linear(h) }
}
