import LMKitEncoders
import LMKitTensor

/// Sentence-embedding throughput, measured the way `benchmarks/encoders_reference.py` measures
/// sentence-transformers: the same texts, `encode` in batches of `batchSize` truncated at
/// `maxLength` tokens, the median of `repeats` runs after a warm-up run.
public struct EncoderBenchmark: Sendable {
    /// One encoder measurement, with the keys of `benchmarks/encoders_reference.py`'s rows.
    public struct Row: Codable, Sendable {
        /// The label passed to ``measure(_:_:)``.
        public let name: String
        /// Worker threads the run used (``Parallel/threads``).
        public let threads: Int
        /// Throughput: `sentences` over the median `seconds`.
        public let sentences_per_s: Double
        /// Median wall-clock seconds to encode every text once.
        public let seconds: Double
        /// Texts encoded per run.
        public let sentences: Int
        /// Tokens in all the texts after truncation, special tokens included, padding excluded.
        public let tokens: Int
        /// Texts per `encode` batch.
        public let batch_size: Int
        /// Tokens each text is truncated to (the tokenizer's `maxLength`).
        public let max_length: Int
        /// Bytes of the model's parameters as saved: float32, or int8 weights plus scales after dynamic
        /// quantization (set by the caller; nil: not given).
        public var bytes: Int?
    }

    /// The sentences encoded on every run.
    public let texts: [String]
    /// Texts the encoder takes per batch.
    public let batchSize: Int
    /// Timed runs after the warm-up run (at least 1); the row reports their median.
    public let repeats: Int

    /// A benchmark that encodes `texts` in batches of `batchSize`, timing `repeats` runs.
    public init(texts: [String], batchSize: Int, repeats: Int) {
        self.texts = texts
        self.batchSize = batchSize
        self.repeats = repeats
    }

    /// Times `encoder.encode(texts)`; returns the row and the embeddings of the last run.
    public func measure(_ name: String, _ encoder: SentenceEncoder) throws -> (Row, [[Float]]) {
        var vectors: [[Float]] = []
        var times: [Double] = []
        for run in 0...max(1, repeats) {
            let t0 = Timing.now()
            vectors = try encoder.encode(texts, batchSize: batchSize)
            if run > 0 { times.append(Timing.now() - t0) }
        }
        let seconds = times.sorted()[times.count / 2]
        let tokens = try encoder.tokenizer.batch(texts).lengths.reduce(0, +)
        return (
            Row(
                name: name, threads: Parallel.threads, sentences_per_s: Double(texts.count) / seconds, seconds: seconds,
                sentences: texts.count, tokens: tokens, batch_size: batchSize, max_length: encoder.tokenizer.maxLength), vectors
        )
    }
}
