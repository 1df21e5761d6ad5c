import LMKitTensor

/// Tokenized fine-tuning examples served as padded batches: each epoch visits every training example
/// once in a shuffled order; a batch is right-padded to its longest example (targets −100 on padding
/// and on tokens not trained on). Right padding needs no attention mask: with causal attention no
/// real token sees a pad after it.
public struct InstructionBatches: TrainingData {
    /// Training examples (each at most `context + 1` ids, with at least one trained target).
    public let train: [TokenizedExample]
    /// Validation examples, scored in order.
    public let validation: [TokenizedExample]
    /// The id padding positions hold (never scored; any valid id).
    public let paddingID: Int

    /// Batches over `train` and `validation`.
    public init(train: [TokenizedExample], validation: [TokenizedExample], paddingID: Int = 0) {
        precondition(!train.isEmpty, "no training examples")
        (self.train, self.validation, self.paddingID) = (train, validation, paddingID)
    }

    /// Cuts each example to `context + 1` ids (inputs and targets of `context` positions) and drops
    /// those left with nothing to train on; returns the kept examples and how many were cut or dropped.
    public static func fit(_ examples: [TokenizedExample], context: Int) -> (kept: [TokenizedExample], truncated: Int, dropped: Int) {
        var kept: [TokenizedExample] = [], truncated = 0, dropped = 0
        for e in examples {
            var e = e
            if e.ids.count > context + 1 {
                truncated += 1
                e = TokenizedExample(ids: Array(e.ids.prefix(context + 1)), trained: Array(e.trained.prefix(context + 1)))
            }
            if e.ids.count < 2 || e.trainedCount == 0 { dropped += 1 } else { kept.append(e) }
        }
        return (kept, truncated, dropped)
    }

    /// The order of epoch `epoch`: a shuffle seeded from the cursor's stream at the epoch's start.
    func order(_ cursor: DataCursor) -> [Int] {
        var g = RandomGenerator(seed: cursor.generator.state.reduce(UInt64(cursor.epoch)) { $0 &* 31 &+ $1 })
        var order = Array(train.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(g.next() % UInt64(i + 1))) }
        return order
    }

    /// The next `size` examples of the epoch order (continuing into the next epoch at its end).
    public func trainingBatch(size: Int, context: Int, cursor: inout DataCursor) -> TrainingBatch {
        var rows: [TokenizedExample] = []
        var order = self.order(cursor)
        while rows.count < size {
            if cursor.position >= order.count {
                cursor.epoch += 1
                cursor.position = 0
                order = self.order(cursor)
            }
            rows.append(train[order[cursor.position]])
            cursor.position += 1
        }
        return batch(rows, context: context)
    }

    /// The validation examples in order, `size` per batch, at most `count` batches.
    public func validationBatches(size: Int, context: Int, count: Int, seed: UInt64) -> [TrainingBatch] {
        stride(from: 0, to: min(validation.count, size * count), by: size).map { start in
            batch(Array(validation[start..<min(start + size, validation.count)]), context: context)
        }
    }

    /// Rows right-padded to the longest: inputs `ids[0 ..< n-1]`, targets `ids[1 ..< n]` where trained.
    func batch(_ rows: [TokenizedExample], context: Int) -> TrainingBatch {
        let t = min(context, rows.map { $0.ids.count - 1 }.max() ?? 1)
        var x = [Int](repeating: paddingID, count: rows.count * t), y = [Int](repeating: -100, count: rows.count * t)
        var scored = 0
        for (b, e) in rows.enumerated() {
            for i in 0..<min(t, e.ids.count - 1) {
                x[b * t + i] = e.ids[i]
                if e.trained[i + 1] { y[b * t + i] = e.ids[i + 1]; scored += 1 }
            }
        }
        return TrainingBatch(
            inputs: Tensor(indices: x, shape: [rows.count, t]), targets: Tensor(indices: y, shape: [rows.count, t]), scoredTokens: scored)
    }
}
