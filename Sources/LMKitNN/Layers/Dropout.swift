import LMKitTensor

/// Inverted dropout, active only in training mode. Owns its random stream so runs are reproducible.
public final class Dropout: Module {
    public let probability: Double
    public var generator: RandomGenerator

    public init(_ probability: Double, seed: UInt64 = 0) {
        precondition(probability >= 0 && probability < 1, "Dropout probability \(probability) is outside [0, 1)")
        self.probability = probability
        generator = RandomGenerator(seed: seed)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining, probability > 0 else { return x }
        return x.dropout(probability, generator: &generator)
    }
}
