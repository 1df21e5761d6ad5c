import LMKitEncoders
import LMKitTensor

/// Sentence-embedding throughput, measured the way `benchmarks/encoders_reference.py` measures
/// sentence-transformers: the same texts, `encode` in batches of `batchSize` truncated at
/// `maxLength` tokens, the median of `repeats` runs after a warm-up run.
public struct EncoderBenchmark: Sendable {
    public struct Row: Codable, Sendable {
        public let name: String
        public let threads: Int
        public let sentences_per_s: Double
        public let seconds: Double
        public let sentences: Int
        public let tokens: Int
        public let batch_size: Int
        public let max_length: Int
    }

    public let texts: [String]
    public let batchSize: Int
    public let repeats: Int

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
