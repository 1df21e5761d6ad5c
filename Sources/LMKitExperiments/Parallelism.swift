import Foundation
import LMKitModels
import LMKitNN
import LMKitPlot
import LMKitTensor

/// Training throughput of an LSTM and a transformer of about the same size, as the sequence grows.
///
/// A recurrent network must compute step t before step t + 1, so each step is a small matrix
/// product on a batch of vectors; a transformer processes every position of the sequence in the
/// same large products, which is what keeps the cores busy. Each measurement is a full training step
/// (forward, loss, backward, AdamW) on random tokens; tokens/s from the median of `steps` timed steps.
public struct ParallelismExperiment: Sendable {
    /// Vocabulary size of the random tokens (65: character-level Shakespeare's).
    public var vocabulary = 65
    /// Sequence lengths T measured.
    public var lengths = [32, 64, 128, 256]
    /// Sequences per training step.
    public var batchSize = 16
    /// Timed steps per measurement, after one untimed warm-up step.
    public var steps = 3
    /// LSTM: 2 layers of this many units.
    public var lstmHidden = 256
    /// Transformer: 4 layers of this width (4 heads), chosen so parameter counts are close.
    public var transformerWidth = 144

    /// The default setup: lengths 32 to 256, batches of 16, 3 timed steps.
    public init() {}

    /// One model's throughput at one sequence length.
    public struct Row: Codable, Sendable {
        /// Model name: "LSTM" or "transformer".
        public let model: String
        /// Number of parameters.
        public let parameters: Int
        /// Sequence length T.
        public let length: Int
        /// Training tokens per second: `batchSize` × `length` over the median step time.
        public let tokensPerSecond: Double
    }

    /// Measures both models at every length; `progress` hears each throughput.
    public func run(progress: (String) -> Void = { _ in }) throws -> [Row] {
        var rows: [Row] = []
        let maxLength = lengths.max() ?? 256
        let lstm = try RecurrentLanguageModel(
            RecurrentLMConfig(
                cell: .lstm, vocabSize: vocabulary, embeddingSize: lstmHidden,
                hiddenSize: lstmHidden, layers: 2, contextLength: maxLength), seed: 1)
        let gpt = try GPT2LMHeadModel(
            GPT2Config(
                vocabSize: vocabulary, contextLength: maxLength, width: transformerWidth,
                layers: 4, heads: 4, dropout: 0), seed: 1)
        let models: [(String, any TrainableLanguageModel)] = [("LSTM", lstm), ("transformer", gpt)]
        var g = RandomGenerator(seed: 3)
        for length in lengths {
            let ids = Tensor(
                indices: (0..<(batchSize * length)).map { _ in Int(g.next() % UInt64(vocabulary)) }, shape: [batchSize, length])
            let targets = Tensor(
                indices: (0..<(batchSize * length)).map { _ in Int(g.next() % UInt64(vocabulary)) }, shape: [batchSize, length])
            for (name, model) in models {
                let optimizer = Adam.adamW(model.namedParameters(), learningRate: 1e-4)
                func step() {
                    model.zeroGradients()
                    model.loss(ids, targets: targets).backward()
                    optimizer.step()
                }
                step()
                var times: [Double] = []
                for _ in 0..<steps {
                    let t0 = Date()
                    step()
                    times.append(Date().timeIntervalSince(t0))
                }
                let median = times.sorted()[times.count / 2]
                rows.append(
                    Row(
                        model: name, parameters: model.parameterCount, length: length,
                        tokensPerSecond: Double(batchSize * length) / median))
                progress("\(name) T=\(length): \(Int(rows.last!.tokensPerSecond)) tokens/s")
            }
        }
        return rows
    }

    /// SVG line plot of tokens per second against sequence length, one line per model.
    public func picture(_ rows: [Row]) -> String {
        let series = ["LSTM", "transformer"].map { name in
            LinePlot.Series(name: name, points: rows.filter { $0.model == name }.map { (Double($0.length), $0.tokensPerSecond) })
        }
        return LinePlot(
            title: "Training throughput on 2 cores, same parameter budget", xLabel: "sequence length",
            yLabel: "tokens per second", series: series
        ).svg()
    }
}
