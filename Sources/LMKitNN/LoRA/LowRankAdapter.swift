// LoRA: "LoRA: Low-Rank Adaptation of Large Language Models" (Hu et al. 2021, arXiv:2106.09685),
// with rsLoRA's scaling (Kalajdzievski 2023, arXiv:2312.03732). Mirrors peft's `LoraLayer` /
// `lora.Linear` (peft/tuners/lora/layer.py): `lora_A` and `lora_B` are bias-free linear layers,
// A starts as nn.Linear does (Kaiming uniform), B at zero, so training starts from the base model.
import LMKitTensor

/// The low-rank update a LoRA adapter adds to a frozen linear layer:
/// `Δy = scaling · lora_B(lora_A(dropout(x)))`, with `lora_A: [r, in]`, `lora_B: [out, r]`.
public final class LowRankAdapter: Module {
    /// `lora_A`: `in` → `r` (peft's key `….lora_A.weight`).
    public let a: Linear
    /// `lora_B`: `r` → `out`, zero at the start (peft's key `….lora_B.weight`).
    public let b: Linear
    /// The factor on the update: `alpha / r`, or `alpha / √r` with rsLoRA.
    public let scaling: Double
    /// Dropout on the adapter's input only (the base layer sees `x` as is).
    public let dropout: Dropout

    /// A new adapter of rank `rank` for a layer `inFeatures` → `outFeatures`: A drawn as PyTorch's
    /// nn.Linear (U(−1/√in, 1/√in)) from `generator`, B zero.
    public init(inFeatures: Int, outFeatures: Int, rank: Int, scaling: Double, dropout: Double, generator: inout RandomGenerator) {
        precondition(rank > 0, "LoRA rank must be positive, got \(rank)")
        a = Linear(inFeatures, rank, bias: false, generator: &generator)
        b = Linear(weight: .zeros([outFeatures, rank]), bias: nil)
        self.scaling = scaling
        self.dropout = Dropout(dropout, seed: generator.next())
        super.init()
        register("lora_A", a)
        register("lora_B", b)
        register("lora_dropout", self.dropout)
    }

    /// Rank of the update (rows of `lora_A`).
    public var rank: Int { a.outFeatures }

    /// The update `[…, out]` for the layer's input `x: […, in]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        b(a(dropout(x))) * scaling  // (…, out)
    }

    /// The update as a dense matrix `scaling · B·A`, `[out, in]` (what merging adds to the weight).
    public func delta() -> Tensor {
        GradMode.withoutGradient { b.weight.value.matmul(a.weight.value) * scaling }
    }
}

/// A linear layer that can carry a LoRA adapter: ``Linear`` (LoRA) and ``QuantizedLinear`` (QLoRA).
/// With an adapter, the layer returns `base(x) + adapter(x)`.
public protocol AdaptableLinear: Module, LinearMap {
    /// The adapter added to the layer's output (nil: the base layer alone).
    var adapter: LowRankAdapter? { get set }
    /// Width of the input.
    var inFeatures: Int { get }
    /// Width of the output.
    var outFeatures: Int { get }
}
