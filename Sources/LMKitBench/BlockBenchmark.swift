import LMKitNN
import LMKitTensor

/// One training step of a GPT-2 transformer block (pre-norm attention + MLP), forward, backward and
/// AdamW, at the shape of a small GPT (width 384, 6 heads, context 256, batch 16): everything around
/// the matrix products — norms, GELU, attention softmax, residuals, the tape — shows up here.
public struct BlockBenchmark {
    /// Shape of the step: sequences per batch (B), tokens per sequence (T), width (C) and attention heads (H).
    public let batch: Int, context: Int, width: Int, heads: Int

    /// The small-GPT shape (B 16, T 256, C 384, H 6), or with `quick` a tiny one (B 2, T 64, C 64, H 2) for smoke runs.
    public init(quick: Bool) {
        if quick {
            (batch, context, width, heads) = (2, 64, 64, 2)
        } else {
            (batch, context, width, heads) = (16, 256, 384, 6)
        }
    }

    /// The row name, with the shape the step runs at.
    public var name: String { "gpt block train step B\(batch) T\(context) C\(width) H\(heads)" }

    final class Block: Module {
        let ln1: LayerNorm, attn: CausalSelfAttention, ln2: LayerNorm, mlp: MLP
        init(width: Int, heads: Int, generator: inout RandomGenerator) {
            ln1 = LayerNorm(width); ln2 = LayerNorm(width)
            attn = CausalSelfAttention(width: width, heads: heads, generator: &generator)
            mlp = MLP(width: width, hidden: 4 * width, generator: &generator)
            super.init()
            register("ln_1", ln1); register("attn", attn); register("ln_2", ln2); register("mlp", mlp)
        }
        func callAsFunction(_ x: Tensor) -> Tensor {
            let h = x + attn(ln1(x))  // (B, T, C)
            return h + mlp(ln2(h))  // (B, T, C)
        }
    }

    /// Milliseconds per step (median) and tokens per second.
    public func run(repeats: Int) -> (milliseconds: Double, tokensPerSecond: Double) {
        var g = RandomGenerator(seed: 3)
        let block = Block(width: width, heads: heads, generator: &g)
        let x = Tensor.randomNormal([batch, context, width], generator: &g)
        let optimizer = Adam.adamW(block.namedParameters(), learningRate: 1e-4, weightDecay: 0.1)
        let seconds = Timing.median(repeats: repeats, warmup: 2) {
            block.zeroGradients()
            let y = block(x)
            (y * y).mean().backward()
            optimizer.step()
        }
        return (seconds * 1e3, Double(batch * context) / seconds)
    }
}
