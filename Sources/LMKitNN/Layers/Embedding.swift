import LMKitTensor

/// A table of token vectors a language model reads ids through and, when its output layer is tied
/// to the embeddings, scores hidden states with: ``Embedding`` (float parameters) or
/// ``QuantizedEmbedding`` (GGUF blocks).
public protocol TokenEmbedding: Module {
    /// Width of each row.
    var dimension: Int { get }
    /// Integer ids `[…]` → rows `[…, dimension]`.
    func callAsFunction(_ ids: Tensor) -> Tensor
    /// The tied output layer: hidden states `[…, dimension]` → one score per row `[…, count]`.
    func logits(_ h: Tensor) -> Tensor
}

/// A lookup table: integer ids `[…]` → rows `[…, dim]`.
public final class Embedding: Module, TokenEmbedding {
    /// The table `[count, dim]` (`weight`).
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

    /// Width of each row (`dim`).
    public var dimension: Int { weight.value.shape[1] }

    /// Rows `[…, dim]` of integer ids `[…]`.
    public func callAsFunction(_ ids: Tensor) -> Tensor { weight.value.gatheringRows(ids) }

    /// Hidden states `[…, dim]` times the transposed table: one score per row `[…, count]`.
    public func logits(_ h: Tensor) -> Tensor { Tensor.linear(h, weight: weight.value, bias: nil) }
}
