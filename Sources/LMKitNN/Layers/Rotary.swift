import Foundation
import LMKitTensor

/// Rotary position embedding (Su et al. 2021, "RoFormer"), in the half-split ("NeoX", Hugging Face
/// `rotate_half`) layout: dimension i of a head is rotated with dimension i + D/2 by the angle
/// position · base^(−2i/D). Angles are computed in float32 as transformers computes them.
public struct RotaryEmbedding: Sendable, Equatable {
    /// Width D of the heads it rotates (even).
    public let headSize: Int
    /// Rotary base θ (`rope_theta`) of the default frequencies.
    public let base: Double
    /// base^(−2i/D) for i < D/2.
    public let inverseFrequencies: [Float]

    /// The standard frequencies base^(−2i/D) for heads of `headSize` (even).
    public init(headSize: Int, base: Double) {
        precondition(headSize % 2 == 0, "rotary embedding needs an even head size, got \(headSize)")
        self.headSize = headSize
        self.base = base
        inverseFrequencies = Self.defaultFrequencies(headSize: headSize, base: base)
    }

    /// A rotary embedding with given inverse frequencies (`headSize / 2` of them), e.g. rescaled ones.
    public init(headSize: Int, base: Double, inverseFrequencies: [Float]) {
        precondition(
            headSize % 2 == 0 && inverseFrequencies.count == headSize / 2,
            "rotary embedding: \(inverseFrequencies.count) frequencies for heads of \(headSize)")
        self.headSize = headSize
        self.base = base
        self.inverseFrequencies = inverseFrequencies
    }

    /// base^(−2i/D), computed in float32 as transformers does.
    public static func defaultFrequencies(headSize: Int, base: Double) -> [Float] {
        (0..<headSize / 2).map { i in 1 / Float(Foundation.pow(Float(base), Float(2 * i) / Float(headSize))) }
    }

    /// Llama 3's frequency rescaling for long contexts (transformers `_compute_llama3_parameters`):
    /// wavelengths longer than `originalContext / lowFrequencyFactor` are divided by `factor`, those
    /// shorter than `originalContext / highFrequencyFactor` kept, and the ones between interpolated.
    public static func llama3Frequencies(
        _ base: [Float], factor: Double, lowFrequencyFactor: Double,
        highFrequencyFactor: Double, originalContext: Int
    ) -> [Float] {
        let old = Float(originalContext), low = Float(lowFrequencyFactor), high = Float(highFrequencyFactor), f = Float(factor)
        let lowWavelength = old / low, highWavelength = old / high
        return base.map { inv in
            let wavelength = 2 * Float.pi / inv
            let scaled = wavelength > lowWavelength ? inv / f : inv
            guard !(wavelength < highWavelength) && !(wavelength > lowWavelength) else { return scaled }
            let smooth = (old / wavelength - low) / (high - low)
            return (1 - smooth) * scaled / f + smooth * scaled
        }
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
        let (cos, sin) = table(start: start, count: x.shape[2])
        return self(x, cos: cos, sin: sin)
    }

    /// Rotates `x: [B, H, T, D]` with a ``table(start:count:)`` of its positions (queries and keys
    /// share one).
    public func callAsFunction(_ x: Tensor, cos: Tensor, sin: Tensor) -> Tensor {
        let d = x.shape[3]
        precondition(
            d == headSize && cos.shape == [x.shape[2], d / 2],
            "rotary embedding for heads of \(headSize), got \(x.shape) and a table of \(cos.shape)")
        // The table is float32 (as transformers computes it); a float64 model (gradient checks) widens it.
        let (cos, sin) = cos.dtype == x.dtype ? (cos, sin) : (cos.converted(to: x.dtype), sin.converted(to: x.dtype))
        let x1 = x.sliced(axis: 3, range: 0..<d / 2), x2 = x.sliced(axis: 3, range: d / 2..<d)
        return Tensor.concatenated([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis: 3)
    }
}
