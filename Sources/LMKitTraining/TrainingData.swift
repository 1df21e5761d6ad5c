import LMKitTensor

/// One micro-batch: input ids and next-token targets, `[B, T]` each; targets −100 are not scored
/// (padding, and prompts under completion-only loss).
public struct TrainingBatch {
    /// Input ids `[B, T]`.
    public var inputs: Tensor
    /// Target ids `[B, T]`, −100 where nothing is scored.
    public var targets: Tensor
    /// Targets scored (not −100).
    public var scoredTokens: Int
}

/// Where a training stream is: its random generator, and for data read in epochs the epoch and the
/// position in that epoch's order. Checkpoints store it, so a resumed run draws the same batches.
public struct DataCursor: Codable, Sendable, Equatable {
    /// The stream's random generator (random windows; each epoch's shuffle is seeded from it).
    public var generator: RandomGenerator
    /// Epochs finished.
    public var epoch = 0
    /// Examples of the current epoch already drawn.
    public var position = 0

    /// A cursor at the start of a stream seeded by `seed`.
    public init(seed: UInt64) { generator = RandomGenerator(seed: seed) }
}

/// What a ``LanguageModelTrainer`` draws its batches from: a tokenized corpus (pretraining, random
/// windows) or fine-tuning examples (epochs of shuffled, padded examples).
public protocol TrainingData {
    /// The next training micro-batch of `size` rows of at most `context` positions.
    func trainingBatch(size: Int, context: Int, cursor: inout DataCursor) -> TrainingBatch
    /// The batches every evaluation scores: the same ones each time, at most `count` of them.
    func validationBatches(size: Int, context: Int, count: Int, seed: UInt64) -> [TrainingBatch]
}

extension TokenData: TrainingData {
    /// A batch of random windows of the training split.
    public func trainingBatch(size: Int, context: Int, cursor: inout DataCursor) -> TrainingBatch {
        let (x, y) = batch(.train, size: size, context: context, generator: &cursor.generator)
        return TrainingBatch(inputs: x, targets: y, scoredTokens: size * context)
    }

    /// `count` batches of random validation windows, drawn from a generator seeded by `seed`.
    public func validationBatches(size: Int, context: Int, count: Int, seed: UInt64) -> [TrainingBatch] {
        var g = RandomGenerator(seed: seed)
        return (0..<count).map { _ in
            let (x, y) = batch(.validation, size: size, context: context, generator: &g)
            return TrainingBatch(inputs: x, targets: y, scoredTokens: size * context)
        }
    }
}
