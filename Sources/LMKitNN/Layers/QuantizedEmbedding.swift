import LMKitTensor

/// A token embedding table kept in its GGUF blocks (inference only: no gradient): a lookup expands
/// only the rows it reads, and as a tied output layer it multiplies in the quantized form.
public final class QuantizedEmbedding: Module, TokenEmbedding {
    public let matrix: QuantizedMatrix

    public init(_ matrix: QuantizedMatrix) {
        self.matrix = matrix
        super.init()
    }

    public var dimension: Int { matrix.columns }

    public func callAsFunction(_ ids: Tensor) -> Tensor { matrix.rows(ids.indexValues).reshaped(ids.shape + [matrix.columns]) }

    public func logits(_ h: Tensor) -> Tensor { matrix.linear(h) }
}
