import Foundation
import LMKitTensor

/// Rotary position embedding (Su et al. 2021, "RoFormer"), in the half-split ("NeoX", Hugging Face
/// `rotate_half`) layout: dimension i of a head is rotated with dimension i + D/2 by the angle
/// position · base^(−2i/D). Angles are computed in float32 as transformers computes them.
public struct RotaryEmbedding: Sendable {
    public let headSize: Int
    public let base: Double
    /// base^(−2i/D) for i < D/2.
    public let inverseFrequencies: [Float]

    public init(headSize: Int, base: Double) {
        precondition(headSize % 2 == 0, "rotary embedding needs an even head size, got \(headSize)")
        self.headSize = headSize
        self.base = base
        inverseFrequencies = (0..<headSize / 2).map { i in 1 / Float(Foundation.pow(Float(base), Float(2 * i) / Float(headSize))) }
    }

    /// cos and sin `[T, D/2]` of positions `start ..< start + count`.
    public func table(start: Int, count: Int) -> (cos: Tensor, sin: Tensor) {
        let half = headSize / 2
        var c = [Float](repeating: 0, count: count * half), s = c
        for t in 0..<count {
            for i in 0..<half {
                let angle = Float(start + t) * inverseFrequencies[i]
                c[t * half + i] = Foundation.cos(angle)
                s[t * half + i] = Foundation.sin(angle)
            }
        }
        return (Tensor(shape: [count, half], scalars: c), Tensor(shape: [count, half], scalars: s))
    }

    /// Rotates `x: [B, H, T, D]` whose positions start at `start`.
    public func callAsFunction(_ x: Tensor, start: Int) -> Tensor {
        let d = x.shape[3]
        precondition(d == headSize, "rotary embedding for heads of \(headSize), got \(x.shape)")
        let (cos, sin) = table(start: start, count: x.shape[2])
        let x1 = x.sliced(axis: 3, range: 0..<d / 2), x2 = x.sliced(axis: 3, range: d / 2..<d)
        return Tensor.concatenated([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis: 3)
    }
}
