import LMKitTensor

/// Inverted dropout, active only in training mode. Owns its random stream so runs are reproducible.
public final class Dropout: Module {
    /// Chance that an element is zeroed in training, in [0, 1); the others are scaled by 1 / (1 − p).
    public let probability: Double
    /// The stream the masks are drawn from; each training-mode call advances it.
    public var generator: RandomGenerator

    /// Dropout at rate `probability` in [0, 1), with its own random stream seeded by `seed`.
    public init(_ probability: Double, seed: UInt64 = 0) {
        precondition(probability >= 0 && probability < 1, "Dropout probability \(probability) is outside [0, 1)")
        self.probability = probability
        generator = RandomGenerator(seed: seed)
        super.init()
    }

    /// `x` with elements dropped and the rest rescaled in training mode; `x` itself in evaluation mode or at rate 0.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining, probability > 0 else { return x }
        return x.dropout(probability, generator: &generator)
    }
}
